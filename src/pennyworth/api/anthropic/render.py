"""Anthropic's server-sent events: each Claude event relayed the moment it arrives, `event: error` on failure.

Pings go out every `keepalive` seconds while the first event is slow (Anthropic's own keep-alive), and once
after `message_start`, as Anthropic's API does. An answer the gateway cut short (`Truncated`) ends as one that
ran out of tokens: the open block stopped, `message_delta` with `stop_reason: "max_tokens"` and a `warning`
field, `message_stop` — after an SSE comment naming the cause.
"""

from __future__ import annotations

import uuid

import orjson

from pennyworth.api.errors import anthropic_error
from pennyworth.api.truncation import warning_comment, warning_field
from pennyworth.errors import GatewayError
from pennyworth.llm.types import AnthropicEvent, StreamEvent, Truncated

PING = b'event: ping\ndata: {"type":"ping"}\n\n'


def _frames(event: StreamEvent) -> bytes:
    """The SSE bytes for one event (usage reports are ours alone: nothing goes out for them)."""
    if type(event) is not AnthropicEvent:
        return b""
    frame = b"event: " + event.type.encode() + b"\ndata: " + event.data + b"\n\n"
    return frame + PING if event.type == "message_start" else frame


def _frame(kind: str, data: bytes) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"


def _empty_message(model: str) -> dict[str, object]:
    return {
        "id": f"msg_{uuid.uuid4().hex}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 0, "output_tokens": 0},
    }


def _error_frame(error: GatewayError) -> bytes:
    return b"event: error\ndata: " + orjson.dumps(anthropic_error(error)[0]) + b"\n\n"


class MessageEvents:
    """Anthropic's frames: each Claude event relayed as is; pings while the first is slow; `event: error`.

    It remembers whether the message started and which content block is open, to end a cut answer properly."""

    beat = PING

    def __init__(self, model: str = "") -> None:
        self.model = model
        self.started = False
        self.open_block: int | None = None

    def opening(self) -> list[bytes]:
        return []

    def render(self, event: StreamEvent) -> list[bytes]:
        if isinstance(event, Truncated):
            return self._truncated(event)
        if isinstance(event, AnthropicEvent):
            if event.type == "message_start":
                self.started = True
            elif event.type == "content_block_start":
                self.open_block = orjson.loads(event.data).get("index")
            elif event.type == "content_block_stop":
                self.open_block = None
        frame = _frames(event)
        return [frame] if frame else []

    def _truncated(self, event: Truncated) -> list[bytes]:
        frames = [warning_comment(event)]
        if not self.started:
            start = {"type": "message_start", "message": _empty_message(self.model)}
            frames.append(_frame("message_start", orjson.dumps(start)))
        if self.open_block is not None:
            stop = {"type": "content_block_stop", "index": self.open_block}
            frames.append(_frame("content_block_stop", orjson.dumps(stop)))
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
            "usage": {"output_tokens": event.usage.completion_tokens if event.usage is not None else 0},
            "warning": warning_field(event),
        }
        frames.append(_frame("message_delta", orjson.dumps(delta)))
        frames.append(_frame("message_stop", b'{"type":"message_stop"}'))
        return frames

    def closing(self) -> list[bytes]:
        return []

    def failure(self, error: GatewayError) -> list[bytes]:
        return [_error_frame(error)]
