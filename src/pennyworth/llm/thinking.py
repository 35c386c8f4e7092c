"""When a chat call may think: the rule that keeps reasoning + tool loops acceptable to Bedrock.

Claude on Bedrock, with thinking enabled, refuses a conversation whose final assistant message holds tool use
without the signed reasoning block the model produced before it. Clients that send that block back (Responses
`encrypted_content`, Chat Completions `thinking_blocks`) keep thinking on: the block is replayed as is. Clients
that do not (most OpenAI-shaped ones send the assistant `tool_calls` alone) get an answer with thinking off for
that one call; the next user turn thinks again. The cost: the model does not reason before answering a tool
result, where it would have on Anthropic's own API.

With thinking off, reasoning blocks are not replayed at all (they only matter to a thinking turn).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pennyworth.llm.types import ChatCall
from pennyworth.observability import get_logger

logger = get_logger("llm.thinking")
_REPLAYABLE = ("thinking", "redacted_thinking")


def _final_assistant(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((m for m in reversed(messages) if m.get("role") == "assistant"), None)


def _carries_signed_reasoning(message: dict[str, Any]) -> bool:
    blocks = message.get("thinking_blocks") or []
    return any(
        b.get("type") == "redacted_thinking" or (b.get("type") == "thinking" and b.get("signature"))
        for b in blocks
        if isinstance(b, dict) and b.get("type") in _REPLAYABLE
    )


def needs_thinking_off(call: ChatCall) -> bool:
    """Thinking was asked for, but the final assistant tool-use turn has no signed reasoning to replay."""
    if call.params.get("reasoning_effort") is None:
        return False
    final = _final_assistant(call.messages)
    return final is not None and bool(final.get("tool_calls")) and not _carries_signed_reasoning(final)


def _without_thinking_blocks(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in m.items() if k != "thinking_blocks"} if "thinking_blocks" in m else m
        for m in messages
    ]


def apply_thinking_rule(call: ChatCall) -> ChatCall:
    """The call as Bedrock will accept it: thinking kept (with replayed blocks), or off for this call."""
    if needs_thinking_off(call):
        logger.info(
            "thinking off for this call: the final assistant tool-use turn carries no signed reasoning "
            "(model=%s)",
            call.route.name,
        )
        params = {k: v for k, v in call.params.items() if k != "reasoning_effort"}
        return replace(call, messages=_without_thinking_blocks(call.messages), params=params)
    if call.params.get("reasoning_effort") is None and any("thinking_blocks" in m for m in call.messages):
        return replace(call, messages=_without_thinking_blocks(call.messages))
    return call
