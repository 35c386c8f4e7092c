"""Server-Sent Events for the three streamed APIs: one response type that owns its upstream stream.

`EventStreamResponse` runs, in one anyio task group: the producer (reads the upstream stream and renders each
event with the API's `SseRenderer`), the keep-alive (a beat every `keepalive` seconds until the first event)
and a watcher for the client's disconnect; the request's own task writes the frames to the client. Whatever
ends the stream — the last event, an upstream failure, the client leaving at any moment — the group ends,
and only then is the upstream stream closed, exactly once, shielded from cancellation (its metering settles
usage there). Nothing reads the upstream stream outside the group, so nothing can close it while it is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from pennyworth.errors import GatewayError, UpstreamError
from pennyworth.llm.service import ChatStream
from pennyworth.llm.types import StreamEvent
from pennyworth.observability import get_logger

logger = get_logger("api")
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


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
        frames_in, frames_out = anyio.create_memory_object_stream[bytes](0)
        first_event = anyio.Event()
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._watch_disconnect, receive, group.cancel_scope)
                group.start_soon(self._produce, frames_in.clone(), first_event)
                group.start_soon(self._keep_alive, frames_in, first_event)
                await self._write(send, frames_out)
                group.cancel_scope.cancel()  # the watcher: the response is complete
        finally:
            with anyio.CancelScope(shield=True):
                await self._stream.aclose()

    async def _write(self, send: Send, frames: MemoryObjectReceiveStream[bytes]) -> None:
        try:
            await send(
                {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
            )
            async with frames:
                async for frame in frames:
                    await send({"type": "http.response.body", "body": frame, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            logger.info("client left during the stream")

    async def _produce(self, out: MemoryObjectSendStream[bytes], first_event: anyio.Event) -> None:
        renderer = self._renderer
        async with out:
            for frame in renderer.opening():
                await out.send(frame)
            try:
                async for event in self._stream.events():
                    first_event.set()
                    for frame in renderer.render(event):
                        await out.send(frame)
                ending = renderer.closing()
            except GatewayError as exc:
                ending = renderer.failure(exc)
            except Exception:
                logger.exception("stream failed after it began")
                ending = renderer.failure(UpstreamError("The stream failed after it began."))
            first_event.set()
            for frame in ending:
                await out.send(frame)

    async def _keep_alive(self, out: MemoryObjectSendStream[bytes], first_event: anyio.Event) -> None:
        async with out:
            while True:
                with anyio.move_on_after(self._keepalive):
                    await first_event.wait()
                if first_event.is_set():
                    return
                await out.send(self._renderer.beat)

    @staticmethod
    async def _watch_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        scope.cancel()
