"""Server-Sent Events for the three streamed APIs: one response type that owns its upstream stream.

`EventStreamResponse` runs, in one anyio task group: the relay (reads the upstream stream and writes each
event's frames, rendered by the API's `SseRenderer`, the moment it arrives), the keep-alive (a beat every
`keepalive` seconds until the first event, then it hands the connection over to the relay) and a watcher
for the client's disconnect. Whatever ends the stream — the last event, an upstream failure, the client
leaving at any moment — the group ends, and only then is the upstream stream closed, exactly once, shielded
from cancellation (its metering settles usage there). Nothing reads the upstream stream outside the group,
so nothing can close it while it is being read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import anyio
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from pennyworth.errors import GatewayError, UpstreamError
from pennyworth.llm.service import ChatStream
from pennyworth.llm.types import StreamEvent
from pennyworth.observability import get_logger

logger = get_logger("api")
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
COMMENT_KEEPALIVE = b": keep-alive\n\n"  # an SSE comment: clients ignore it, proxies see traffic


class SseRenderer(Protocol):
    """One API's frames: what opens the stream, each event's frames, the normal end and a failure's end."""

    beat: bytes  # the keep-alive frame sent while the first event is slow

    def opening(self) -> list[bytes]: ...

    def render(self, event: StreamEvent) -> list[bytes]: ...

    def closing(self) -> list[bytes]: ...

    def failure(self, error: GatewayError) -> list[bytes]: ...


class EventStreamResponse(Response):
    """A `text/event-stream` response relaying an open upstream stream through a renderer."""

    media_type = "text/event-stream"

    def __init__(
        self,
        stream: ChatStream,
        renderer: SseRenderer,
        *,
        keepalive: float,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._stream = stream
        self._renderer = renderer
        self._keepalive = keepalive
        self.status_code = 200
        self.background = None
        self.init_headers({**SSE_HEADERS, **(headers or {})})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        first_event = anyio.Event()  # set by the relay when the model's first event (or the end) arrives
        beats_over = anyio.Event()  # set by the keep-alive when it has stopped writing
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._watch_disconnect, receive, group.cancel_scope)
                if await self._write(send, self._renderer.opening(), start=True):
                    group.start_soon(self._keep_alive, send, first_event, beats_over, group.cancel_scope)
                    await self._relay(send, first_event, beats_over)
                group.cancel_scope.cancel()  # the response is complete (or the client gone): stop the others
        finally:
            with anyio.CancelScope(shield=True):
                await self._stream.aclose()

    async def _write(
        self, send: Send, frames: list[bytes], *, start: bool = False, end: bool = False
    ) -> bool:
        """Write frames to the client; False once it has gone."""
        try:
            if start:
                await send(
                    {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
                )
            for frame in frames:
                await send({"type": "http.response.body", "body": frame, "more_body": True})
            if end:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            logger.info("client left during the stream")
            return False
        return True

    async def _relay(self, send: Send, first_event: anyio.Event, beats_over: anyio.Event) -> None:
        """Read the upstream stream and write each event's frames as it arrives (the per-chunk hot path)."""
        render = self._renderer.render
        try:
            async for event in self._stream.events():
                if not first_event.is_set():  # hand over from the keep-alive: one writer at a time
                    first_event.set()
                    await beats_over.wait()
                if not await self._write(send, render(event)):
                    return
            ending = self._renderer.closing()
        except GatewayError as exc:
            ending = self._renderer.failure(exc)
        except Exception:
            logger.exception("stream failed after it began")
            ending = self._renderer.failure(UpstreamError("The stream failed after it began."))
        first_event.set()
        await beats_over.wait()
        await self._write(send, ending, end=True)

    async def _keep_alive(
        self, send: Send, first_event: anyio.Event, beats_over: anyio.Event, group: anyio.CancelScope
    ) -> None:
        try:
            while True:
                with anyio.move_on_after(self._keepalive):
                    await first_event.wait()
                if first_event.is_set():
                    return
                if not await self._write(send, [self._renderer.beat]):
                    group.cancel()  # the client left while the model was silent
                    return
        finally:
            beats_over.set()

    @staticmethod
    async def _watch_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        scope.cancel()
