"""Whole answers read from a stream: used when a whole answer may be cut by the request deadline.

A non-streamed Bedrock call gives nothing until it is complete, so a whole answer that might outlive the
deadline is read as a stream instead and assembled here — cut short, it still holds what was generated.
`collect_chat` builds a `ChatResult` from our events; `collect_message` builds Anthropic's message object
from Claude's own events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import orjson

from pennyworth.catalog import ModelRoute
from pennyworth.llm.service import ChatStream
from pennyworth.llm.types import (
    AnthropicEvent,
    ChatResult,
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallStart,
    Truncated,
    Usage,
    UsageReport,
)

T = TypeVar("T")


async def collect_chat(events: AsyncIterator[StreamEvent]) -> ChatResult:
    """The whole answer a chat stream carried (a `Truncated` end makes it a `max_tokens` answer)."""
    text: list[str] = []
    reasoning: list[str] = []
    signature: str | None = None
    calls: dict[int, ToolCall] = {}
    result = ChatResult("", None, None, [], "end_turn", Usage())
    async for event in events:
        if isinstance(event, TextDelta):
            text.append(event.text)
        elif isinstance(event, ReasoningDelta):
            reasoning.append(event.text)
            signature = event.signature or signature
        elif isinstance(event, ToolCallStart):
            calls[event.index] = ToolCall(event.id, event.name, "")
        elif isinstance(event, ToolCallDelta):
            calls[event.index].arguments += event.arguments
        elif isinstance(event, Finish):
            result.stop_reason = event.stop_reason
        elif isinstance(event, UsageReport):
            result.usage = event.usage
        elif isinstance(event, Truncated):
            result.stop_reason = "max_tokens"
            result.usage = event.usage or result.usage
            result.warning = event
    result.text = "".join(text)
    result.reasoning = "".join(reasoning) if reasoning else None
    result.reasoning_signature = signature
    result.tool_calls = [calls[i] for i in sorted(calls)]
    return result


class _MessageBuilder:
    """Anthropic's message object, block by block, from its stream events."""

    def __init__(self) -> None:
        self.message: dict[str, Any] = {"type": "message", "role": "assistant", "content": []}
        self._json: dict[int, list[str]] = {}

    def add(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        content: list[dict[str, Any]] = self.message["content"]
        if kind == "message_start":
            self.message.update({k: v for k, v in event["message"].items() if k != "content"})
        elif kind == "content_block_start":
            content.append(dict(event["content_block"]))
        elif kind == "content_block_delta" and content:
            self._delta(content[-1], len(content) - 1, event.get("delta") or {})
        elif kind == "content_block_stop" and content:
            self._finish_block(content[-1], len(content) - 1)
        elif kind == "message_delta":
            self.message.update(event.get("delta") or {})
            usage = self.message.setdefault("usage", {})
            usage.update(event.get("usage") or {})

    def _delta(self, block: dict[str, Any], index: int, delta: dict[str, Any]) -> None:
        kind = delta.get("type")
        if kind == "text_delta":
            block["text"] = block.get("text", "") + delta.get("text", "")
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + delta.get("thinking", "")
        elif kind == "signature_delta":
            block["signature"] = delta.get("signature", "")
        elif kind == "input_json_delta":
            self._json.setdefault(index, []).append(delta.get("partial_json", ""))

    def _finish_block(self, block: dict[str, Any], index: int) -> None:
        if index in self._json:
            text = "".join(self._json.pop(index))
            try:
                block["input"] = orjson.loads(text) if text else {}
            except orjson.JSONDecodeError:  # cut mid-arguments: keep what there is, unparsed
                block["input"] = {"_partial_json": text}

    def truncate(self, usage: Usage | None) -> None:
        content: list[dict[str, Any]] = self.message["content"]
        for index in list(self._json):
            self._finish_block(content[index], index)
        self.message["stop_reason"] = "max_tokens"
        self.message["stop_sequence"] = None
        if usage is not None:
            self.message.setdefault("usage", {})["output_tokens"] = usage.completion_tokens


async def collect_message(events: AsyncIterator[StreamEvent]) -> tuple[dict[str, Any], Truncated | None]:
    """Anthropic's whole message from Claude's stream events, and the `Truncated` event that ended it, if any."""
    builder = _MessageBuilder()
    truncated: Truncated | None = None
    async for event in events:
        if isinstance(event, AnthropicEvent):
            builder.add(orjson.loads(event.data))
        elif isinstance(event, Truncated):
            builder.truncate(event.usage)
            truncated = event
    return builder.message, truncated


async def collected(
    opening: Awaitable[ChatStream], collect: Callable[[AsyncIterator[StreamEvent]], Awaitable[T]]
) -> tuple[T, ModelRoute | None]:
    """A whole answer read from an opened (metered, deadline-cut) stream, and the route that answered."""
    stream = await opening
    try:
        return await collect(stream.events()), stream.route
    finally:
        await stream.aclose()
