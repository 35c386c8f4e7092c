"""OpenAI's Chat Completions, Embeddings and Models APIs: request schemas, routes, and rendering."""
