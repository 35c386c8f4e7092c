"""Anthropic's Messages API (and count_tokens): request schemas, routes, and Anthropic's SSE events."""
