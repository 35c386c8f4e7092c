"""Anthropic's server-sent events: each Claude event relayed the moment it arrives, `event: error` on failure.

Pings go out every `keepalive` seconds while the first event is slow (Anthropic's own keep-alive), and once
after `message_start`, as Anthropic's API does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson

from pennyworth.api.errors import anthropic_error
from pennyworth.api.sse import first_event
from pennyworth.errors import GatewayError, UpstreamError
from pennyworth.llm.service import ChatStream
from pennyworth.llm.types import AnthropicEvent, StreamEvent
from pennyworth.observability import get_logger

logger = get_logger("api")
PING = b'event: ping\ndata: {"type":"ping"}\n\n'


def _frames(event: StreamEvent) -> bytes:
    """The SSE bytes for one event (usage reports are ours alone: nothing goes out for them)."""
    if type(event) is not AnthropicEvent:
        return b""
    frame = b"event: " + event.type.encode() + b"\ndata: " + event.data + b"\n\n"
    return frame + PING if event.type == "message_start" else frame


def _error_frame(error: GatewayError) -> bytes:
    return b"event: error\ndata: " + orjson.dumps(anthropic_error(error)[0]) + b"\n\n"


async def sse_messages(stream: ChatStream, *, keepalive: float) -> AsyncIterator[bytes]:
    events = stream.events()
    try:
        first: StreamEvent | None = None
        async for item in first_event(events, keepalive, PING):
            if isinstance(item, bytes):
                yield item
            else:
                first = item
        if first is None:
            return
        yield _frames(first)
        async for event in events:
            frame = _frames(event)
            if frame:
                yield frame
    except GatewayError as exc:
        yield _error_frame(exc)
    except Exception:
        logger.exception("message stream failed after it began")
        yield _error_frame(UpstreamError("The stream failed after it began."))
    finally:
        await stream.aclose()
