"""Anthropic's server-sent events: each Claude event relayed the moment it arrives, `event: error` on failure.

Pings go out every `keepalive` seconds while the first event is slow (Anthropic's own keep-alive), and once
after `message_start`, as Anthropic's API does.
"""

from __future__ import annotations

import orjson

from pennyworth.api.errors import anthropic_error
from pennyworth.errors import GatewayError
from pennyworth.llm.types import AnthropicEvent, StreamEvent

PING = b'event: ping\ndata: {"type":"ping"}\n\n'


def _frames(event: StreamEvent) -> bytes:
    """The SSE bytes for one event (usage reports are ours alone: nothing goes out for them)."""
    if type(event) is not AnthropicEvent:
        return b""
    frame = b"event: " + event.type.encode() + b"\ndata: " + event.data + b"\n\n"
    return frame + PING if event.type == "message_start" else frame


def _error_frame(error: GatewayError) -> bytes:
    return b"event: error\ndata: " + orjson.dumps(anthropic_error(error)[0]) + b"\n\n"


class MessageEvents:
    """Anthropic's frames: each Claude event relayed as is; pings while the first is slow; `event: error`."""

    beat = PING

    def opening(self) -> list[bytes]:
        return []

    def render(self, event: StreamEvent) -> list[bytes]:
        frame = _frames(event)
        return [frame] if frame else []

    def closing(self) -> list[bytes]:
        return []

    def failure(self, error: GatewayError) -> list[bytes]:
        return [_error_frame(error)]
