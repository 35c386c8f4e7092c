"""The request deadline: stop reading the model when the function's time is nearly up.

Lambda ends an invocation at its timeout without running anything more — no `finally`, no ledger write — so
a long answer must be cut by us, a little before. `until_deadline` wraps any provider-neutral event stream; at
the deadline the read stops (the upstream stream is closed by its owner's `aclose`) and one `Truncated` event
ends the stream in place of the model's own end. Renderers only have to render that event; metering settles
what was used. A stream that keeps the deadline itself (the Bedrock wire checks it once per network read, and
raises `DeadlineReached`) is relayed as is; any other is read an event at a time under an anyio cancel scope
that expires at the deadline.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio

from pennyworth.llm.service import ChatStream
from pennyworth.llm.types import DeadlineReached, StreamEvent, Truncated

DEADLINE = "deadline"
DEADLINE_WARNING = (
    "The request reached the gateway's deadline (just under the function's time limit): "
    "the answer was cut short here."
)


def seconds_left(deadline: float | None) -> float:
    """Seconds until `deadline` (a `time.monotonic()` instant); infinity without one."""
    return float("inf") if deadline is None else deadline - time.monotonic()


def deadline_reached() -> Truncated:
    return Truncated(cause=DEADLINE, message=DEADLINE_WARNING)


async def until_deadline(
    events: AsyncIterator[StreamEvent], deadline: float | None, *, kept_by_stream: bool = False
) -> AsyncIterator[StreamEvent]:
    """`events` as they come until `deadline`; then one `Truncated` event, and nothing more is read."""
    if deadline is None or kept_by_stream:
        try:
            async for event in events:
                yield event
        except DeadlineReached:
            yield deadline_reached()
        return
    while True:
        left = seconds_left(deadline)
        if left <= 0:  # checked before the read too: an event that is ready never reaches a checkpoint
            yield deadline_reached()
            return
        with anyio.move_on_after(left) as scope:
            try:
                event = await anext(events)
            except StopAsyncIteration:
                return
        if scope.cancelled_caught:
            yield deadline_reached()
            return
        yield event


async def _cut_before_it_began() -> AsyncIterator[StreamEvent]:
    yield deadline_reached()


async def _nothing_to_close() -> None:
    return None


async def open_before_deadline(
    opening: Callable[[], Awaitable[ChatStream]], deadline: float | None
) -> ChatStream:
    """`opening()` unless the deadline comes first: then a stream of one `Truncated` event, which keeps the
    deadline itself (so no clock reading downstream decides whether it ends as cut)."""
    if deadline is None:
        return await opening()
    with anyio.move_on_after(seconds_left(deadline)):
        return await opening()
    return ChatStream(_cut_before_it_began(), _nothing_to_close, keeps_deadline=True)
