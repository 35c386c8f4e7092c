"""Metered model calls: admission against the key's limits, the call, then usage and spend — for every API.

The OpenAI routes (and the Anthropic and Responses routes after them) call this instead of the LLM service,
so limits, budgets and the usage ledger are written once. DynamoDB costs per request, for a key with every
limit set: one conditional UpdateItem (RPM/TPM) and one GetItem (budget) before the call; after it one ADD on
the ledger, one ADD on the period's spend, and one ADD truing up the minute's tokens — a key without limits
pays only the ledger ADD. Usage is stored before the response's last byte: for streams, when Bedrock's
usage event arrives and before the usage chunk / `[DONE]` go out; when the client disconnects, in the
stream's cleanup, shielded from the cancellation, with what had been relayed so far.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

import anyio
import orjson

from pennyworth.access.keys import KeyIdentity
from pennyworth.access.limits import Admission, Limiter
from pennyworth.access.usage import UsageLedger
from pennyworth.catalog import ModelRoute
from pennyworth.errors import GatewayError, RateLimited
from pennyworth.llm.providers.prices import cost_usd
from pennyworth.llm.providers.tokens import count_text_tokens, estimate_prompt_tokens
from pennyworth.llm.service import ChatStream, LLMService
from pennyworth.llm.types import (
    AnthropicEvent,
    ChatCall,
    ChatResult,
    EmbeddingCall,
    EmbeddingResult,
    MessagesCall,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
    UsageReport,
)
from pennyworth.observability import emit_call_metrics, get_logger

logger = get_logger("access.metering")
T = TypeVar("T")


def _estimate_anthropic(call: MessagesCall) -> int:
    """Prompt tokens of an Anthropic request, by LiteLLM's tokenizer over its text (system, messages, tools)."""
    return estimate_prompt_tokens(call.route, _as_text_messages(call.body))


def _as_text_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    texts = [orjson.dumps(body.get("system", "")).decode(), orjson.dumps(body.get("tools", [])).decode()]
    for message in body.get("messages", []):
        content = message.get("content")
        texts.append(content if isinstance(content, str) else orjson.dumps(content).decode())
    return [{"role": "user", "content": "\n".join(texts)}]


def _for_key(identity: KeyIdentity, call: ChatCall) -> ChatCall:
    """The call as this key may make it: its fallbacks, and its choice about automatic cache points."""
    return replace(call, route=for_key(identity, call.route), auto_cache_points=identity.auto_cache_points)


def for_key(identity: KeyIdentity, route: ModelRoute) -> ModelRoute:
    """The route with only the fallbacks this key may use (another model must be on its allow-list)."""
    allowed = tuple(fallback for fallback in route.fallbacks if identity.allows(fallback.name))
    return route if allowed == route.fallbacks else replace(route, fallbacks=allowed)


class Metering:
    def __init__(
        self, llm: LLMService, limiter: Limiter, ledger: UsageLedger, emit_metrics: bool = False
    ) -> None:
        self.llm = llm
        self._limiter = limiter
        self._ledger = ledger
        self._emit_metrics = emit_metrics

    async def _admit(self, identity: KeyIdentity, estimate_tokens: Callable[[], int]) -> Admission:
        """Reserve the request (a DynamoDB round trip only for keys that have limits or a budget)."""
        if identity.rpm is None and identity.tpm is None and identity.budget_usd is None:
            return Admission(window=None, estimated_tokens=0)
        estimated = estimate_tokens() if identity.tpm is not None else 0  # tokenizing costs CPU: only for TPM
        return await asyncio.to_thread(self._limiter.admit, identity, estimated)

    async def _settle_shielded(
        self,
        identity: KeyIdentity,
        admission: Admission,
        route: ModelRoute,
        usage: Usage | None,
        *,
        error: bool,
    ) -> None:
        """Ledger first (it must never be lost), then the limiter's true-up and spend, then metrics — run to the
        end even when the client has gone (shielded from the request's cancellation). Cost follows from usage."""
        model = route.name
        cost = cost_usd(route, usage) if usage is not None else 0.0
        with anyio.CancelScope(shield=True):
            await self._ledger.record_async(
                identity.key_id, model, usage, cost, error=error, route=route.model_id
            )
            if identity.tpm is not None or identity.budget_usd is not None:
                tokens = usage.total_tokens if usage else 0
                try:
                    await asyncio.to_thread(self._limiter.settle, identity, admission, tokens, cost)
                except Exception:
                    logger.exception(
                        "limit settlement failed: key_id=%s model=%s cost=%s", identity.key_id, model, cost
                    )
            if self._emit_metrics:
                emit_call_metrics(model, usage, cost, (time.monotonic() - admission.started) * 1000, error)

    async def aclose(self) -> None:
        await self.llm.aclose()
        await self._ledger.aclose()

    def forget_connections(self) -> None:
        """After a SnapStart restore: reconnect and re-read credentials on next use."""
        self.llm.runtime.forget_connections()
        self._ledger.forget_connections()

    async def _whole(
        self,
        identity: KeyIdentity,
        route: ModelRoute,
        estimate: Callable[[], int],
        call_upstream: Callable[[], Awaitable[T]],
        anthropic_usage: Callable[[T], Usage],
        route_of: Callable[[T], ModelRoute | None] = lambda _: None,
    ) -> T:
        """Admit, call, then record on the route that answered: its usage, or one error when the call failed."""
        admission = await self._admit(identity, estimate)
        try:
            answer = await call_upstream()
        except BaseException:
            await self._settle_shielded(identity, admission, route, None, error=True)
            raise
        served = route_of(answer) or route
        await self._settle_shielded(identity, admission, served, anthropic_usage(answer), error=False)
        return answer

    async def _stream(
        self,
        identity: KeyIdentity,
        route: ModelRoute,
        estimate: Callable[[], int],
        open_upstream: Callable[[], Awaitable[ChatStream]],
    ) -> ChatStream:
        """Admit and open the upstream stream; its events are recorded as they pass (see `_metered`)."""
        admission = await self._admit(identity, estimate)
        try:
            inner = await open_upstream()
        except BaseException:
            await self._settle_shielded(identity, admission, route, None, error=True)
            raise
        events = self._metered(identity, admission, inner.route or route, estimate, inner)

        async def close() -> None:
            await events.aclose()
            await inner.aclose()

        return ChatStream(events, close, inner.route)

    async def chat(self, identity: KeyIdentity, call: ChatCall) -> ChatResult:
        call = _for_key(identity, call)
        estimate = lambda: estimate_prompt_tokens(call.route, call.messages)  # noqa: E731
        return await self._whole(
            identity, call.route, estimate, lambda: self.llm.chat(call), lambda r: r.usage, lambda r: r.route
        )

    async def open_chat_stream(self, identity: KeyIdentity, call: ChatCall) -> ChatStream:
        call = _for_key(identity, call)
        estimate = lambda: estimate_prompt_tokens(call.route, call.messages)  # noqa: E731
        return await self._stream(identity, call.route, estimate, lambda: self.llm.open_chat_stream(call))

    async def _metered(
        self,
        identity: KeyIdentity,
        admission: Admission,
        route: ModelRoute,
        estimate_prompt: Callable[[], int],
        inner: ChatStream,
    ) -> AsyncGenerator[StreamEvent, None]:
        relayed: list[str] = []
        settled = False
        try:
            async for event in inner.events():
                match event:
                    case AnthropicEvent(text=text) | TextDelta(text=text):
                        relayed.append(text)
                    case ToolCallDelta(arguments=arguments):
                        relayed.append(arguments)
                    case UsageReport(usage=usage):
                        await self._settle_shielded(identity, admission, route, usage, error=False)
                        settled = True
                yield event
        except Exception:
            if not settled:
                settled = True
                await self._settle_shielded(identity, admission, route, None, error=True)
            raise
        finally:
            if not settled:  # cut off (client gone) or ended without a usage event: what was consumed so far
                usage = Usage(
                    prompt_tokens=estimate_prompt(),
                    completion_tokens=count_text_tokens(route, "".join(relayed)),
                )
                await self._settle_shielded(identity, admission, route, usage, error=False)

    async def messages(self, identity: KeyIdentity, call: MessagesCall) -> tuple[dict[str, Any], ModelRoute]:
        """The Anthropic answer and the route that gave it."""
        call = replace(call, route=for_key(identity, call.route))
        answer, _, route = await self._whole(
            identity,
            call.route,
            lambda: _estimate_anthropic(call),
            lambda: self.llm.messages(call),
            lambda a: a[1],
            lambda a: a[2],
        )
        return answer, route

    async def open_messages_stream(self, identity: KeyIdentity, call: MessagesCall) -> ChatStream:
        call = replace(call, route=for_key(identity, call.route))
        estimate = lambda: _estimate_anthropic(call)  # noqa: E731
        return await self._stream(identity, call.route, estimate, lambda: self.llm.open_messages_stream(call))

    async def count_tokens(self, call: MessagesCall) -> int:
        """Bedrock's CountTokens where the model has it; otherwise LiteLLM's estimate (never an error)."""
        try:
            return await self.llm.count_tokens(call)
        except RateLimited:
            raise
        except GatewayError as exc:
            logger.info("CountTokens unavailable for %s (%s): estimating", call.route.model_id, exc.message)
            return _estimate_anthropic(call)

    async def embed(self, identity: KeyIdentity, call: EmbeddingCall) -> EmbeddingResult:
        estimate = lambda: sum(len(text) for text in call.inputs) // 4 + 1  # noqa: E731
        return await self._whole(
            identity,
            call.route,
            estimate,
            lambda: self.llm.embed(call),
            lambda r: Usage(prompt_tokens=r.prompt_tokens),
        )
