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
from collections.abc import AsyncIterator
from typing import Any

import orjson

from pennyworth.api.errors import error_body
from pennyworth.api.sse import first_event
from pennyworth.errors import GatewayError, UpstreamError
from pennyworth.llm.service import ChatStream
from pennyworth.llm.types import (
    ChatResult,
    EmbeddingResult,
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Usage,
    UsageReport,
)
from pennyworth.observability import get_logger

logger = get_logger("api")

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "content_filter": "content_filter",
}
KEEPALIVE = b": keep-alive\n\n"
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


async def sse_chat_stream(
    stream: ChatStream, *, model: str, include_usage: bool, keepalive: float
) -> AsyncIterator[bytes]:
    """OpenAI `chat.completion.chunk` SSE for an open upstream stream, ending with `data: [DONE]`."""
    head = orjson.dumps(
        {
            "id": completion_id(),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }
    )[:-1]
    prefix = b"data: " + head + b',"choices":['
    suffix = b'],"usage":null}\n\n' if include_usage else b"]}\n\n"
    dumps = orjson.dumps

    def render(event: StreamEvent) -> bytes | None:
        if type(event) is UsageReport:
            if not include_usage:
                return None
            return b"data: " + head + b',"choices":[],"usage":' + dumps(openai_usage(event.usage)) + b"}\n\n"
        choice = _delta_choice(event)
        return None if choice is None else prefix + dumps(choice) + suffix

    events = stream.events()
    try:
        yield prefix + b'{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}' + suffix
        first: StreamEvent | None = None
        async for item in first_event(events, keepalive, KEEPALIVE):
            if isinstance(item, bytes):
                yield item
            else:
                first = item
        if first is not None:
            chunk = render(first)
            if chunk is not None:
                yield chunk
            async for event in events:
                chunk = render(event)
                if chunk is not None:
                    yield chunk
        yield DONE
    except GatewayError as exc:
        yield b"data: " + dumps(error_body(exc)) + b"\n\n"
    except Exception:
        logger.exception("stream failed after it began")
        yield b"data: " + dumps(error_body(UpstreamError("The stream failed after it began."))) + b"\n\n"
    finally:
        await stream.aclose()


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
