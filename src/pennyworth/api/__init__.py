"""HTTP shapes: OpenAI routes, health, error envelopes, and the app that wires them."""
