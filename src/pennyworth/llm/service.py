"""The LLM service: one call in, one answer (or stream) out, whatever the provider.

Routes Bedrock calls through our own request translation (`bedrock.translate`, `bedrock.embeddings`) and our
lean wire (`bedrock.wire`, `bedrock.converse`) — no LiteLLM on that path — and any other provider through
LiteLLM's own client (imported on first use) with a key from Secrets Manager. Converse bodies get automatic
cache points (`bedrock.cache_points`); Bedrock chat calls, and the opening of their streams, go through
`failover` (retries, then the catalog's fallback routes). The HTTP layers only see `ChatResult`, `ChatStream`
and `EmbeddingResult`, each naming the route that answered.
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

import anyio
import anyio.abc
import orjson

from pennyworth.aws.secrets import SecretStore
from pennyworth.catalog import ModelRoute
from pennyworth.errors import GatewayError, UpstreamError
from pennyworth.llm.bedrock import anthropic, pegasus
from pennyworth.llm.bedrock.cache_points import place_cache_points, plan_for
from pennyworth.llm.bedrock.converse import StreamTranslator, result_from_converse
from pennyworth.llm.bedrock.embeddings import embedding_bodies, vectors_from
from pennyworth.llm.bedrock.remote_media import inline_remote_images, remote_image_parts
from pennyworth.llm.bedrock.translate import translate_chat
from pennyworth.llm.bedrock.wire import BedrockRuntime, EventStream
from pennyworth.llm.failover import RetryPolicy, call_with_failover
from pennyworth.llm.media import translate_with_media
from pennyworth.llm.providers import lazy
from pennyworth.llm.providers.prices import price_map
from pennyworth.llm.providers.tokens import count_text_tokens, estimate_prompt_tokens
from pennyworth.llm.thinking import apply_thinking_rule
from pennyworth.llm.types import (
    ChatCall,
    ChatResult,
    EmbeddingCall,
    EmbeddingResult,
    Finish,
    MessagesCall,
    PreparedConverse,
    PromptUsage,
    StreamEvent,
    TextDelta,
    Usage,
    UsageReport,
)
from pennyworth.settings import Settings

_EMBED_CONCURRENCY = 8
_T = TypeVar("_T")


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def as_float32(values: list[float]) -> list[float]:
    """Round to float32, the precision OpenAI's `base64` encoding carries, so both encodings agree exactly."""
    return list(struct.unpack(f"<{len(values)}f", struct.pack(f"<{len(values)}f", *values)))


class ChatStream:
    """An upstream stream that has started: iterate `events()`, and always `aclose()`."""

    def __init__(
        self,
        events: AsyncIterator[StreamEvent],
        close: Callable[[], Awaitable[None]],
        route: ModelRoute | None = None,
        keeps_deadline: bool = False,
    ) -> None:
        self._events = events
        self._close = close
        self.route = route  # the route that is answering (None when the caller did not say)
        self.keeps_deadline = keeps_deadline  # its events end in DeadlineReached at the call's deadline

    def events(self) -> AsyncIterator[StreamEvent]:
        return self._events

    async def aclose(self) -> None:
        """Close the event iterator (ending its generators' cleanup), then the upstream connection."""
        try:
            close_events = getattr(self._events, "aclose", None)
            if close_events is not None:
                await close_events()
        finally:
            await self._close()


async def _nothing() -> None:
    return None


async def _whole_as_stream(result: ChatResult) -> AsyncIterator[StreamEvent]:
    """A whole answer as stream events, for routes that do not stream (Pegasus)."""
    if result.text:
        yield TextDelta(result.text)
    yield Finish(result.stop_reason)
    yield UsageReport(result.usage)


async def _bedrock_events(
    stream: EventStream, translator: StreamTranslator, deadline: float | None
) -> AsyncIterator[StreamEvent]:
    translate = translator.translate
    async for event_type, payload in stream.events(deadline):
        event = translate(event_type, payload)
        if event is not None:
            yield event


async def _anthropic_events(
    stream: EventStream, reader: anthropic.StreamReader, deadline: float | None
) -> AsyncIterator[StreamEvent]:
    async for event_type, payload in stream.events(deadline):
        if event_type != "chunk":
            continue
        event = reader.read(payload)
        if event.type == "message_start":
            yield PromptUsage(reader.usage())
        elif event.type == "message_stop":
            yield UsageReport(reader.usage())
        yield event


async def _with_inline_images(call: ChatCall) -> ChatCall:
    """The call with remote image URLs fetched and inlined (they reach here only when the operator allows)."""
    messages = await inline_remote_images(call.messages)
    return call if messages is call.messages else replace(call, messages=messages)


def warm_up(route: ModelRoute) -> None:
    """Do at start-up what the first Bedrock request would otherwise do (so it lands in Lambda's init, and in a
    SnapStart snapshot): read the price map, translate a small request, render its body."""
    price_map()
    orjson.dumps(translate_chat(ChatCall(route=route, messages=[{"role": "user", "content": "hi"}])).body)


class LLMService:
    def __init__(self, settings: Settings, runtime: BedrockRuntime | None = None) -> None:
        self.runtime = runtime or BedrockRuntime(settings)
        self._secrets = SecretStore(settings)
        self._settings = settings
        self._retry = RetryPolicy(
            deadline_seconds=settings.retry_deadline_seconds,
            attempts_per_route=settings.attempts_per_route,
            base_delay_seconds=settings.retry_base_seconds,
            emit_metrics=settings.emit_metrics,
        )

    async def _on_bedrock(
        self, route: ModelRoute, call: Callable[[ModelRoute], Awaitable[_T]]
    ) -> tuple[_T, ModelRoute]:
        """`call` on the route, or on the first of its fallbacks that answers (see `failover`)."""
        if not self._settings.absorb_throttling:
            return await call(route), route
        answer, served = await call_with_failover(route, call, self._retry)
        return answer, served.route

    def prepare_chat(self, call: ChatCall) -> None:
        """Make the call's Converse body for its own route now (CPU: the API layer runs this in a worker thread,
        before admission, so a request translation refuses never counts as a model request). A call with remote
        images (allowed by the operator) is translated once they are fetched, at call time."""
        if (
            call.route.provider == "bedrock"
            and call.route.wire == "converse"
            and not remote_image_parts(call.messages)
        ):
            body, json_mode = self._converse_body(call, call.route)
            call.converse = PreparedConverse(
                call.route.model_id, call.auto_cache_points, dict(call.params), body, json_mode
            )

    def _converse_body(self, call: ChatCall, route: ModelRoute) -> tuple[bytes, bool]:
        """The Converse body for `call` on `route` (with automatic cache points), and whether it is in JSON mode."""
        prepared = call.converse
        if (
            prepared is not None
            and prepared.model_id == route.model_id
            and prepared.auto_cache_points == call.auto_cache_points
            and prepared.params == call.params
        ):
            return prepared.body, prepared.json_mode
        ruled = apply_thinking_rule(call if route is call.route else replace(call, route=route))
        request = translate_with_media(  # documents, video and S3 locations: our own blocks (llm/media.py)
            ruled.messages,
            lambda messages: translate_chat(replace(ruled, messages=messages)),
            lambda r: r.body,
        )
        plan = plan_for(
            route.prompt_cache,
            enabled=self._settings.auto_cache_points and call.auto_cache_points,
            ttl=self._settings.cache_ttl,
            conversation_named=bool(call.params.get("prompt_cache_key")),
        )
        body = place_cache_points(request.body, plan) if plan is not None else request.body
        return orjson.dumps(body), request.json_mode

    async def chat(self, call: ChatCall) -> ChatResult:
        if call.route.provider != "bedrock":
            result = await lazy.complete_elsewhere(call, await self._provider_key(call))
            result.route = call.route
            return result
        if call.route.wire == "pegasus":
            result = await self._pegasus(call)
            result.route = call.route
            return result
        call = await _with_inline_images(call)

        async def converse(route: ModelRoute) -> ChatResult:
            body, json_mode = self._converse_body(call, route)
            answer = await self.runtime.converse(route.model_id, body)
            return result_from_converse(answer, json_mode=json_mode, dumps=_json_text)

        result, route = await self._on_bedrock(call.route, converse)
        result.route = route
        return result

    async def open_chat_stream(self, call: ChatCall) -> ChatStream:
        """Start the upstream stream; errors Bedrock reports before the first event raise here."""
        if call.route.provider != "bedrock":
            events = lazy.stream_elsewhere(call, await self._provider_key(call))
            return ChatStream(events, _nothing, call.route)
        if call.route.wire == "pegasus":
            return ChatStream(_whole_as_stream(await self._pegasus(call)), _nothing, call.route)
        call = await _with_inline_images(call)

        async def open_stream(route: ModelRoute) -> tuple[EventStream, bool]:
            body, json_mode = self._converse_body(call, route)
            return await self.runtime.converse_stream(route.model_id, body), json_mode

        (stream, json_mode), route = await self._on_bedrock(call.route, open_stream)
        events = _bedrock_events(stream, StreamTranslator(json_mode=json_mode), call.deadline)
        return ChatStream(events, stream.aclose, route, keeps_deadline=True)

    async def _pegasus(self, call: ChatCall) -> ChatResult:
        answer, input_tokens = await self.runtime.invoke(
            call.route.model_id, orjson.dumps(pegasus.request_body(call))
        )
        prompt = (
            input_tokens if input_tokens is not None else estimate_prompt_tokens(call.route, call.messages)
        )
        usage = Usage(prompt, count_text_tokens(call.route, str(answer.get("message", ""))))
        return pegasus.chat_result(answer, usage)

    async def messages(self, call: MessagesCall) -> tuple[dict[str, Any], Usage, ModelRoute]:
        """A whole Anthropic Messages answer from Claude on Bedrock, its usage, and the route that gave it."""
        (answer, _), route = await self._on_bedrock(
            call.route, lambda r: _retrying_without_betas(_on_route(call, r), self.runtime.invoke)
        )
        message = anthropic.public_message(answer, call.requested_model)
        return message, anthropic.anthropic_usage(answer.get("usage")), route

    async def open_messages_stream(self, call: MessagesCall) -> ChatStream:
        """Claude's Anthropic event stream; a UsageReport comes just before `message_stop`."""
        stream, route = await self._on_bedrock(
            call.route, lambda r: _retrying_without_betas(_on_route(call, r), self.runtime.invoke_stream)
        )
        events = _anthropic_events(stream, anthropic.StreamReader(call.requested_model), call.deadline)
        return ChatStream(events, stream.aclose, route, keeps_deadline=True)

    async def count_tokens(self, call: MessagesCall) -> int:
        return await _retrying_without_betas(call, self.runtime.count_tokens)

    async def embed(self, call: EmbeddingCall) -> EmbeddingResult:
        bodies = embedding_bodies(call.route, call.inputs, call.dimensions)
        answers: list[tuple[dict[str, Any], int | None]] = [({}, None)] * len(bodies)
        failures: list[Exception] = []
        limiter = anyio.CapacityLimiter(_EMBED_CONCURRENCY)

        async def invoke(index: int, body: dict[str, Any], group: anyio.abc.TaskGroup) -> None:
            async with limiter:
                try:
                    answers[index] = await self.runtime.invoke(call.route.model_id, orjson.dumps(body))
                except Exception as exc:  # the first failure is the call's; the other calls are cancelled
                    failures.append(exc)
                    group.cancel_scope.cancel()

        async with anyio.create_task_group() as group:
            for index, body in enumerate(bodies):
                group.start_soon(invoke, index, body, group)
        if failures:
            raise failures[0]
        vectors: list[list[float]] = []
        tokens = 0
        for body, header_tokens in answers:
            found = vectors_from(body)
            vectors.extend(as_float32(v) for v in found)
            tokens += int(body.get("inputTextTokenCount") or header_tokens or 0)
        if len(vectors) != len(call.inputs):
            raise UpstreamError(f"Bedrock returned {len(vectors)} embeddings for {len(call.inputs)} inputs.")
        return EmbeddingResult(vectors=vectors, prompt_tokens=tokens)

    async def _provider_key(self, call: ChatCall) -> str | None:
        arn = call.route.api_key_secret_arn
        return await self._secrets.api_key(arn) if arn else None

    async def aclose(self) -> None:
        await self.runtime.aclose()


def _on_route(call: MessagesCall, route: ModelRoute) -> MessagesCall:
    """The call sent to another route (a fallback) instead of its own."""
    return call if route is call.route else replace(call, route=route)


async def _retrying_without_betas(call: MessagesCall, send: Callable[[str, bytes], Awaitable[_T]]) -> _T:
    """Send a Claude call; if Bedrock refuses one of its beta flags, once more without them."""
    try:
        return await send(call.route.model_id, anthropic.request_body(call))
    except GatewayError as exc:
        retry = anthropic.without_refused_betas(call, exc)
        if retry is None:
            raise
    return await send(retry.route.model_id, anthropic.request_body(retry))
