"""Server-Sent Events plumbing shared by the OpenAI and Anthropic streams: keep-alives before the first event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TypeVar

T = TypeVar("T")


async def first_event(events: AsyncIterator[T], keepalive: float, beat: bytes) -> AsyncIterator[T | bytes]:
    """Yield `beat` every `keepalive` seconds while waiting for the first event, then that event (if any)."""
    pending = asyncio.ensure_future(anext(events))
    try:
        while True:
            done, _ = await asyncio.wait({pending}, timeout=keepalive)
            if done:
                break
            yield beat
        try:
            yield pending.result()
        except StopAsyncIteration:
            return
    finally:
        if not pending.done():
            pending.cancel()
