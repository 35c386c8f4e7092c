"""What the request deadline (`pennyworth.llm.deadline.until_deadline`) costs per stream event.

    .venv/bin/python bench/deadline_bench.py

Events come from an async generator that never waits, so the figure is the wrapper's own CPU: a plain
pass-through generator (the floor any wrapper pays), `until_deadline` over a stream that keeps the deadline
itself (the Bedrock wire: one cancel scope per network read, not per event), and over one that does not
(another provider's: an anyio cancel scope around every event's read). Best of three rounds of 200,000 events.
Why the Bedrock wire keeps its own deadline: docs/benchmarks.md.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

import anyio

from pennyworth.llm.deadline import until_deadline
from pennyworth.llm.types import StreamEvent, TextDelta

EVENTS = 200_000


async def source() -> AsyncIterator[StreamEvent]:
    event = TextDelta(text="w ")
    for _ in range(EVENTS):
        yield event


async def pass_through(events: AsyncIterator[StreamEvent]) -> AsyncIterator[StreamEvent]:
    async for event in events:
        yield event


async def per_event_us(wrap: Callable[[AsyncIterator[StreamEvent]], AsyncIterator[StreamEvent]]) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        async for _event in wrap(source()):
            pass
        best = min(best, (time.process_time() - started) / EVENTS)
    return best * 1e6


async def main() -> None:
    far = time.monotonic() + 3600
    rows = [
        ("pass-through generator", pass_through),
        (
            "until_deadline, kept by the stream",
            lambda events: until_deadline(events, far, kept_by_stream=True),
        ),
        ("until_deadline, a scope per event", lambda events: until_deadline(events, far)),
    ]
    print(f"{'CPU per event (us), best of 3':<40}")
    for name, wrap in rows:
        print(f"{name:<40}{await per_event_us(wrap):8.2f}")


if __name__ == "__main__":
    anyio.run(main)
