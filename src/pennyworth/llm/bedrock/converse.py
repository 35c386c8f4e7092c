"""Bedrock Converse / ConverseStream output → provider-neutral results and stream events.

Hand-written on purpose: this is the per-chunk hot path. LiteLLM's stream wrapper rebuilds pydantic objects
and re-serialises every chunk (~1 ms CPU each); reading the Converse event dicts directly costs a few µs.
Structured output sent as the `json_tool_call` tool (see translate) comes back here as plain text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pennyworth.llm.types import (
    ChatResult,
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallStart,
    Usage,
    UsageReport,
)

JSON_MODE_TOOL = "json_tool_call"
_CONTENT_FILTERED = {"content_filtered", "guardrail_intervened"}


def neutral_stop_reason(bedrock_reason: str | None, json_mode: bool) -> str:
    """Bedrock's stopReason in our vocabulary (`content_filter` for both filtering reasons)."""
    if bedrock_reason in _CONTENT_FILTERED:
        return "content_filter"
    if json_mode and bedrock_reason == "tool_use":
        return "end_turn"
    return bedrock_reason or "end_turn"


def converse_usage(raw: dict[str, Any] | None) -> Usage:
    """Converse `usage` → Usage; like OpenAI, prompt tokens include cached ones."""
    raw = raw or {}
    cache_read = int(raw.get("cacheReadInputTokens") or 0)
    cache_write = int(raw.get("cacheWriteInputTokens") or 0)
    details = raw.get("cacheDetails") or []
    one_hour = sum(
        int(d.get("inputTokens") or 0) for d in details if isinstance(d, dict) and d.get("ttl") == "1h"
    )
    return Usage(
        prompt_tokens=int(raw.get("inputTokens") or 0) + cache_read + cache_write,
        completion_tokens=int(raw.get("outputTokens") or 0),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_1h_tokens=min(one_hour, cache_write),
    )


def result_from_converse(body: dict[str, Any], *, json_mode: bool, dumps: Callable[[Any], str]) -> ChatResult:
    """A Converse response body → ChatResult. `dumps` serialises tool inputs to JSON text."""
    blocks = ((body.get("output") or {}).get("message") or {}).get("content") or []
    texts: list[str] = []
    reasoning: list[str] = []
    signature: str | None = None
    tool_calls: list[ToolCall] = []
    thinking_blocks: list[dict[str, str]] = []
    for block in blocks:
        if "text" in block:
            texts.append(block["text"])
        elif "toolUse" in block:
            tool = block["toolUse"]
            arguments = dumps(tool.get("input") or {})
            if json_mode and tool.get("name") == JSON_MODE_TOOL:
                texts.append(arguments)
            else:
                tool_calls.append(ToolCall(id=tool["toolUseId"], name=tool["name"], arguments=arguments))
        elif "reasoningContent" in block:
            if "redactedContent" in block["reasoningContent"]:
                data = block["reasoningContent"]["redactedContent"]
                thinking_blocks.append({"type": "redacted_thinking", "data": data})
                continue
            text_block = block["reasoningContent"].get("reasoningText") or {}
            reasoning.append(text_block.get("text", ""))
            signature = text_block.get("signature") or signature
            if text_block.get("signature"):
                thinking_blocks.append(
                    {"type": "thinking", "thinking": text_block.get("text", ""), "signature": signature or ""}
                )
    return ChatResult(
        text="".join(texts),
        reasoning="".join(reasoning) if reasoning else None,
        reasoning_signature=signature,
        tool_calls=tool_calls,
        stop_reason=neutral_stop_reason(body.get("stopReason"), json_mode),
        usage=converse_usage(body.get("usage")),
        thinking_blocks=thinking_blocks,
    )


class StreamTranslator:
    """Turns ConverseStream events, one at a time, into StreamEvents (or None for bookkeeping events)."""

    __slots__ = ("_json_blocks", "_json_mode", "_tool_index_by_block", "_tools_seen")

    def __init__(self, *, json_mode: bool) -> None:
        self._json_mode = json_mode
        self._tool_index_by_block: dict[int, int] = {}
        self._json_blocks: set[int] = set()
        self._tools_seen = 0

    def translate(self, event_type: str, payload: dict[str, Any]) -> StreamEvent | None:
        if event_type == "contentBlockDelta":
            return self._delta(payload["contentBlockIndex"], payload["delta"])
        if event_type == "contentBlockStart":
            return self._block_start(payload["contentBlockIndex"], payload.get("start") or {})
        if event_type == "messageStop":
            return Finish(neutral_stop_reason(payload.get("stopReason"), self._json_mode))
        if event_type == "metadata":
            return UsageReport(converse_usage(payload.get("usage")))
        return None  # messageStart, contentBlockStop

    def _block_start(self, block: int, start: dict[str, Any]) -> StreamEvent | None:
        tool = start.get("toolUse")
        if tool is None:
            return None
        if self._json_mode and tool.get("name") == JSON_MODE_TOOL:
            self._json_blocks.add(block)
            return None
        index = self._tools_seen
        self._tools_seen += 1
        self._tool_index_by_block[block] = index
        return ToolCallStart(index=index, id=tool["toolUseId"], name=tool["name"])

    def _delta(self, block: int, delta: dict[str, Any]) -> StreamEvent | None:
        text = delta.get("text")
        if text is not None:
            return TextDelta(text)
        tool = delta.get("toolUse")
        if tool is not None:
            if block in self._json_blocks:
                return TextDelta(tool.get("input", ""))
            return ToolCallDelta(index=self._tool_index_by_block[block], arguments=tool.get("input", ""))
        reasoning = delta.get("reasoningContent")
        if reasoning is not None:
            return ReasoningDelta(
                text=reasoning.get("text", ""),
                signature=reasoning.get("signature"),
                redacted=reasoning.get("redactedContent"),
            )
        return None
