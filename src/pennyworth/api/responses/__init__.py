"""OpenAI's Responses API (what Codex CLI speaks): schemas and conversion to a chat call, routes, events."""
