"""Rendering our results in OpenAI's shapes: chat completions, SSE chunks, embeddings.

The SSE writer is the per-chunk hot path: the chunk's constant head (id, created, model) is serialised once,
and each event costs one small `orjson.dumps`. Each chunk is yielded the moment its event arrives; until
the first one, an SSE comment goes out every `keepalive` seconds so proxies keep the connection open.
"""

from __future__ import annotations

import base64
import struct
import time
import uuid
from typing import Any

import orjson

from pennyworth.api.errors import error_body
from pennyworth.api.sse import COMMENT_KEEPALIVE
from pennyworth.api.truncation import warning_comment, warning_field
from pennyworth.errors import GatewayError
from pennyworth.llm.types import (
    ChatResult,
    EmbeddingResult,
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Truncated,
    Usage,
    UsageReport,
)

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "content_filter": "content_filter",
}
DONE = b"data: [DONE]\n\n"


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def openai_usage(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_tokens},
    }


def chat_completion(result: ChatResult, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": result.text or None, "refusal": None}
    if result.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in result.tool_calls
        ]
    elif message["content"] is None:
        message["content"] = ""
    if result.reasoning is not None:
        message["reasoning_content"] = result.reasoning
    if result.thinking_blocks:
        message["thinking_blocks"] = result.thinking_blocks
    return {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": FINISH_REASONS.get(result.stop_reason, "stop"),
                "logprobs": None,
            }
        ],
        "usage": openai_usage(result.usage),
        "system_fingerprint": None,
    }


def _delta_choice(event: StreamEvent) -> dict[str, Any] | None:
    """The `choices[0]` of the chunk for one event (None for events that have no chunk of their own)."""
    if type(event) is TextDelta:
        return {"index": 0, "delta": {"content": event.text}, "finish_reason": None}
    if type(event) is ToolCallDelta:
        tool = {"index": event.index, "function": {"arguments": event.arguments}}
        return {"index": 0, "delta": {"tool_calls": [tool]}, "finish_reason": None}
    if type(event) is ToolCallStart:
        tool = {
            "index": event.index,
            "id": event.id,
            "type": "function",
            "function": {"name": event.name, "arguments": ""},
        }
        return {"index": 0, "delta": {"tool_calls": [tool]}, "finish_reason": None}
    if type(event) is ReasoningDelta:
        if not event.text:
            return None
        return {"index": 0, "delta": {"reasoning_content": event.text}, "finish_reason": None}
    if type(event) is Finish:
        return {"index": 0, "delta": {}, "finish_reason": FINISH_REASONS.get(event.stop_reason, "stop")}
    return None


class ChatChunks:
    """OpenAI `chat.completion.chunk` frames for one stream, ending with `data: [DONE]`.

    Reasoning streams as `reasoning_content`; when a thinking block is complete (its signature arrived), or a
    redacted block arrives, one more chunk carries it whole as `thinking_blocks` (LiteLLM's convention), so a
    client that sends it back with the assistant message keeps thinking on in a tool loop.
    """

    beat = COMMENT_KEEPALIVE

    def __init__(self, *, model: str, include_usage: bool) -> None:
        self._head = orjson.dumps(
            {
                "id": completion_id(),
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
            }
        )[:-1]
        self._prefix = b"data: " + self._head + b',"choices":['
        self._suffix = b'],"usage":null}\n\n' if include_usage else b"]}\n\n"
        self._include_usage = include_usage
        self._thinking = ""

    def _chunk(self, choice: dict[str, Any]) -> bytes:
        return self._prefix + orjson.dumps(choice) + self._suffix

    def opening(self) -> list[bytes]:
        return [
            self._chunk({"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None})
        ]

    def _usage_chunk(self, usage: Usage) -> bytes:
        return (
            b"data: " + self._head + b',"choices":[],"usage":' + orjson.dumps(openai_usage(usage)) + b"}\n\n"
        )

    def _truncated(self, event: Truncated) -> list[bytes]:
        """Cut short: a warning comment, the `length` finish chunk with a `warning` field, then usage."""
        finish = orjson.dumps({"index": 0, "delta": {}, "finish_reason": "length"})
        tail = b',"usage":null}\n\n' if self._include_usage else b"}\n\n"
        chunk = b"data: " + self._head + b',"choices":[' + finish + b'],"warning":'
        frames = [warning_comment(event), chunk + orjson.dumps(warning_field(event)) + tail]
        if self._include_usage and event.usage is not None:
            frames.append(self._usage_chunk(event.usage))
        return frames

    def render(self, event: StreamEvent) -> list[bytes]:
        if type(event) is UsageReport:
            return [self._usage_chunk(event.usage)] if self._include_usage else []
        if isinstance(event, Truncated):
            return self._truncated(event)
        choice = _delta_choice(event)
        frames = [] if choice is None else [self._chunk(choice)]
        if type(event) is ReasoningDelta:
            frames += self._thinking_block(event)
        return frames

    def _thinking_block(self, event: ReasoningDelta) -> list[bytes]:
        self._thinking += event.text
        if event.redacted is not None:
            block = {"type": "redacted_thinking", "data": event.redacted}
        elif event.signature:
            block = {"type": "thinking", "thinking": self._thinking, "signature": event.signature}
            self._thinking = ""
        else:
            return []
        return [self._chunk({"index": 0, "delta": {"thinking_blocks": [block]}, "finish_reason": None})]

    def closing(self) -> list[bytes]:
        return [DONE]

    def failure(self, error: GatewayError) -> list[bytes]:
        return [b"data: " + orjson.dumps(error_body(error)) + b"\n\n"]


def embedding_response(result: EmbeddingResult, model: str, encoding_format: str) -> dict[str, Any]:
    def encode(vector: list[float]) -> list[float] | str:
        if encoding_format == "base64":
            return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        return vector

    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": encode(v)} for i, v in enumerate(result.vectors)
        ],
        "model": model,
        "usage": {"prompt_tokens": result.prompt_tokens, "total_tokens": result.prompt_tokens},
    }
