"""Other providers through LiteLLM, imported on first use: a Bedrock-only gateway never loads LiteLLM."""

from __future__ import annotations

from collections.abc import AsyncIterator

from pennyworth.llm.types import ChatCall, ChatResult, StreamEvent


async def complete_elsewhere(call: ChatCall, api_key: str | None) -> ChatResult:
    """A whole answer from a non-Bedrock provider (imports LiteLLM the first time)."""
    from pennyworth.llm.providers.other import complete_via_litellm

    return await complete_via_litellm(call, api_key)


def stream_elsewhere(call: ChatCall, api_key: str | None) -> AsyncIterator[StreamEvent]:
    """A streamed answer from a non-Bedrock provider (imports LiteLLM the first time)."""
    from pennyworth.llm.providers.other import stream_via_litellm

    return stream_via_litellm(call, api_key)
