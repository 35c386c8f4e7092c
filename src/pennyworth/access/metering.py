"""Metered model calls: admission against the key's limits, the call, then usage and spend — for every API.

The routes call this instead of the LLM service, so limits, budgets, concurrency and the usage ledger are
applied once. Before the call a request's demand is admitted (`limits.Limiter`): its requests (an embedding
call counts each input), its prompt estimate, its worst-case cost (max output tokens * output price + prompt
estimate * input price) reserved against a budget, and a concurrency lease. After it, the ledger row and the
true-ups go in one idempotent transaction (`usage.UsageLedger.record`). Usage is stored before the response's
last byte: for streams, when the provider's usage event arrives and before the usage chunk / `[DONE]` go
out; when the client disconnects or the stream fails, in the stream's cleanup, shielded from cancellation,
with what was consumed — the prompt as the provider counted it when it said so, else an estimate, and the
tokens of the output relayed so far (marked as an error when the stream failed). `count_tokens` is admitted
under RPM only: it reaches no model and costs nothing.

Every call carries a deadline (`llm.deadline`): a stream that reaches it ends with a `Truncated` event carrying
the usage settled for what was relayed; a whole answer that could outlive it is read as a stream and assembled
(`llm.collect`), so that cut short it still returns what was generated.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

import anyio
import orjson

from pennyworth.access.keys import KeyIdentity
from pennyworth.access.limits import Admission, Demand, Limiter
from pennyworth.access.table import NANO
from pennyworth.access.usage import UsageLedger, UsageRecord
from pennyworth.catalog import ModelRoute
from pennyworth.errors import GatewayError, InvalidRequest, PermissionDenied, RateLimited
from pennyworth.llm.collect import collect_chat, collect_message, collected
from pennyworth.llm.deadline import open_before_deadline, seconds_left, until_deadline
from pennyworth.llm.providers.prices import cost_usd, max_output_tokens, token_prices
from pennyworth.llm.providers.tokens import count_text_tokens, estimate_prompt_tokens
from pennyworth.llm.service import ChatStream, LLMService
from pennyworth.llm.types import (
    AnthropicEvent,
    ChatCall,
    ChatResult,
    EmbeddingCall,
    EmbeddingResult,
    MessagesCall,
    PromptUsage,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    Truncated,
    Usage,
    UsageReport,
)
from pennyworth.observability import emit_call_metrics, get_logger

logger = get_logger("access.metering")
T = TypeVar("T")
FALLBACK_MAX_OUTPUT_TOKENS = 4096  # worst case for a model whose maximum the price map does not give


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


def capped_output(identity: KeyIdentity, requested: int | None, param: str) -> int | None:
    """The output limit a request runs with under its key's `max_tokens` cap: the request's own when within the
    cap, the cap when it gave none; a request asking for more than the cap is refused (400)."""
    cap = identity.max_tokens
    if cap is None:
        return requested
    if requested is None:
        return cap
    if requested > cap:
        raise InvalidRequest(
            f"'{param}' is {requested}, above this API key's limit of {cap} output tokens per request.",
            param=param,
            code="max_tokens_exceeded",
        )
    return requested


def chat_output_limit(identity: KeyIdentity, call: ChatCall) -> int | None:
    """The chat call's output limit under its key's cap, written into its params when the request gave none
    (so the Bedrock body is built with it); calling it again on the same call changes nothing."""
    param = "max_completion_tokens" if "max_completion_tokens" in call.params else "max_tokens"
    limit = capped_output(identity, call.params.get(param), param)
    if limit is not None and param not in call.params:
        call.params["max_tokens"] = limit
    return limit


def worst_case_nusd(route: ModelRoute, prompt_tokens: int, output_tokens: int) -> int:
    """What a request can cost at most, in nano-dollars; PermissionDenied when the model has no price."""
    prices = token_prices(route)
    if prices is None:
        raise PermissionDenied(
            f"This API key has a budget, and the model '{route.name}' has no price to count it against. "
            "Ask the operator to set input_cost_per_token / output_cost_per_token for it in models.yaml.",
            param="model",
            code="model_not_priced",
        )
    return math.ceil((prompt_tokens * prices[0] + output_tokens * prices[1]) * NANO)


class Metering:
    def __init__(
        self,
        llm: LLMService,
        limiter: Limiter,
        ledger: UsageLedger,
        emit_metrics: bool = False,
        whole_call_seconds: float = 610.0,
    ) -> None:
        self.llm = llm
        self._limiter = limiter
        self._ledger = ledger
        self._emit_metrics = emit_metrics
        # the longest a non-streamed upstream call can take (connect + read timeouts): a whole answer whose
        # deadline is nearer than that is read as a stream, so that cut short it still has what was generated
        self._whole_call_seconds = whole_call_seconds

    def _may_outlive(self, deadline: float | None) -> bool:
        return seconds_left(deadline) < self._whole_call_seconds

    def _demand(
        self,
        identity: KeyIdentity,
        route: ModelRoute,
        estimate: Callable[[], int],
        output_limit: int | None,
        requests: int = 1,
    ) -> Demand:
        """What the request asks of its key (tokenizing costs CPU: only for keys with TPM or a budget)."""
        budgeted = identity.budget_usd is not None
        prompt = estimate() if identity.tpm is not None or budgeted else 0
        cost = 0
        if budgeted:
            if output_limit is None:
                output_limit = max_output_tokens(route) or FALLBACK_MAX_OUTPUT_TOKENS
            cost = worst_case_nusd(route, prompt, output_limit)
        return Demand(requests=requests, tokens=prompt if identity.tpm is not None else 0, cost_nusd=cost)

    async def _admit(self, identity: KeyIdentity, demand: Demand) -> Admission:
        """Reserve the request (DynamoDB round trips only for keys that have limits)."""
        if not self._limiter.needs_admission(identity, demand):
            return Admission()
        return await self._limiter.admit(identity, demand)

    async def _settle_shielded(
        self,
        identity: KeyIdentity,
        admission: Admission,
        route: ModelRoute,
        usage: Usage | None,
        *,
        error: bool,
    ) -> None:
        """Ledger and true-ups in one idempotent write, then metrics — run to the end even when the client has
        gone (shielded from the request's cancellation). Cost follows from usage."""
        cost = cost_usd(route, usage) if usage is not None else 0.0
        cost_nusd = round(cost * NANO)
        tokens = usage.total_tokens if usage else 0
        with anyio.CancelScope(shield=True):
            await self._ledger.record(
                admission.request_id,
                UsageRecord(identity.key_id, route.name, usage, cost_nusd, error=error, route=route.model_id),
                self._limiter.settlement(identity, admission, tokens, cost_nusd),
            )
            if self._emit_metrics:
                emit_call_metrics(
                    route.name, usage, cost, (time.monotonic() - admission.started) * 1000, error
                )

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
        demand: Demand,
        call_upstream: Callable[[], Awaitable[T]],
        usage_of: Callable[[T], Usage],
        route_of: Callable[[T], ModelRoute | None] = lambda _: None,
    ) -> T:
        """Admit, call, then record on the route that answered: its usage, or one error when the call failed."""
        admission = await self._admit(identity, demand)
        try:
            answer = await call_upstream()
        except BaseException:
            await self._settle_shielded(identity, admission, route, None, error=True)
            raise
        served = route_of(answer) or route
        await self._settle_shielded(identity, admission, served, usage_of(answer), error=False)
        return answer

    async def _stream(
        self,
        identity: KeyIdentity,
        route: ModelRoute,
        demand: Demand,
        estimate: Callable[[], int],
        open_upstream: Callable[[], Awaitable[ChatStream]],
        deadline: float | None,
    ) -> ChatStream:
        """Admit and open the upstream stream; its events are recorded as they pass (see `_metered`) and cut
        at the deadline (`until_deadline`)."""
        admission = await self._admit(identity, demand)
        try:
            inner = await open_before_deadline(open_upstream, deadline)
        except BaseException:
            await self._settle_shielded(identity, admission, route, None, error=True)
            raise
        timed = until_deadline(inner.events(), deadline, kept_by_stream=inner.keeps_deadline)
        events = self._metered(identity, admission, inner.route or route, estimate, timed)

        async def close() -> None:
            await events.aclose()
            await inner.aclose()

        return ChatStream(events, close, inner.route)

    async def chat(self, identity: KeyIdentity, call: ChatCall) -> ChatResult:
        if self._may_outlive(call.deadline):
            result, served = await collected(self.open_chat_stream(identity, call), collect_chat)
            result.route = served
            return result
        call = _for_key(identity, call)
        estimate = lambda: estimate_prompt_tokens(call.route, call.messages)  # noqa: E731
        demand = self._demand(identity, call.route, estimate, chat_output_limit(identity, call))
        return await self._whole(
            identity, call.route, demand, lambda: self.llm.chat(call), lambda r: r.usage, lambda r: r.route
        )

    async def open_chat_stream(self, identity: KeyIdentity, call: ChatCall) -> ChatStream:
        call = _for_key(identity, call)
        estimate = lambda: estimate_prompt_tokens(call.route, call.messages)  # noqa: E731
        demand = self._demand(identity, call.route, estimate, chat_output_limit(identity, call))
        return await self._stream(
            identity, call.route, demand, estimate, lambda: self.llm.open_chat_stream(call), call.deadline
        )

    async def _metered(
        self,
        identity: KeyIdentity,
        admission: Admission,
        route: ModelRoute,
        estimate_prompt: Callable[[], int],
        events: AsyncIterator[StreamEvent],
    ) -> AsyncGenerator[StreamEvent, None]:
        relayed: list[str] = []
        prompt: Usage | None = None  # the provider's own count, once it gave one
        started = False
        settled = False

        def consumed() -> Usage:
            counted = prompt or Usage(prompt_tokens=estimate_prompt())
            completion = count_text_tokens(route, "".join(relayed)) if relayed else 0
            return Usage(
                prompt_tokens=counted.prompt_tokens,
                completion_tokens=completion,
                cache_read_tokens=counted.cache_read_tokens,
                cache_write_tokens=counted.cache_write_tokens,
            )

        try:
            async for event in events:
                started = True
                match event:
                    case PromptUsage(usage=usage):
                        prompt = usage
                        continue
                    case AnthropicEvent(text=text) | TextDelta(text=text):
                        relayed.append(text)
                    case ToolCallDelta(arguments=arguments):
                        relayed.append(arguments)
                    case UsageReport(usage=usage):
                        await self._settle_shielded(identity, admission, route, usage, error=False)
                        settled = True
                    case Truncated(cause=cause, message=message) if not settled:  # the deadline: settle now
                        usage = consumed()
                        await self._settle_shielded(identity, admission, route, usage, error=False)
                        settled = True
                        event = Truncated(cause, message, usage)
                yield event
        except Exception:
            if not settled:  # failed mid-way: what was consumed (Bedrock bills it), as an error
                settled = True
                spent = consumed() if started else None
                await self._settle_shielded(identity, admission, route, spent, error=True)
            raise
        finally:
            if not settled:  # cut off (client gone) or ended without a usage event: what was consumed so far
                await self._settle_shielded(identity, admission, route, consumed(), error=False)

    async def messages(
        self, identity: KeyIdentity, call: MessagesCall
    ) -> tuple[dict[str, Any], ModelRoute, Truncated | None]:
        """The Anthropic answer, the route that gave it, and the `Truncated` event if the deadline cut it."""
        if self._may_outlive(call.deadline):
            (message, truncated), served = await collected(
                self.open_messages_stream(identity, call), collect_message
            )
            return message, served or call.route, truncated
        call = replace(call, route=for_key(identity, call.route))
        estimate = lambda: _estimate_anthropic(call)  # noqa: E731
        limit = capped_output(identity, call.body.get("max_tokens"), "max_tokens")
        answer, _, route = await self._whole(
            identity,
            call.route,
            self._demand(identity, call.route, estimate, limit),
            lambda: self.llm.messages(call),
            lambda a: a[1],
            lambda a: a[2],
        )
        return answer, route, None

    async def open_messages_stream(self, identity: KeyIdentity, call: MessagesCall) -> ChatStream:
        call = replace(call, route=for_key(identity, call.route))
        estimate = lambda: _estimate_anthropic(call)  # noqa: E731
        limit = capped_output(identity, call.body.get("max_tokens"), "max_tokens")
        demand = self._demand(identity, call.route, estimate, limit)
        return await self._stream(
            identity, call.route, demand, estimate, lambda: self.llm.open_messages_stream(call), call.deadline
        )

    async def count_tokens(self, identity: KeyIdentity, call: MessagesCall) -> int:
        """Bedrock's CountTokens where the model has it; otherwise LiteLLM's estimate (never an error). Admitted
        under the key's RPM (one request, no tokens, no cost, no concurrency slot); not in the ledger."""
        if identity.rpm is not None:
            await self._limiter.admit(
                KeyIdentity(key_id=identity.key_id, rpm=identity.rpm), Demand(concurrent=False)
            )
        try:
            return await self.llm.count_tokens(call)
        except RateLimited:
            raise
        except GatewayError as exc:
            logger.info("CountTokens unavailable for %s (%s): estimating", call.route.model_id, exc.message)
            return _estimate_anthropic(call)

    async def embed(self, identity: KeyIdentity, call: EmbeddingCall) -> EmbeddingResult:
        """Each input counts as one request against RPM (each is a model call), their tokens against TPM."""
        inputs = len(call.inputs)
        if identity.rpm is not None and inputs > identity.rpm:
            raise InvalidRequest(
                f"'input' has {inputs} items; this API key allows {identity.rpm} requests per minute and each "
                f"input counts as one. Send at most {identity.rpm} inputs per call.",
                param="input",
            )
        estimate = lambda: sum(len(text) for text in call.inputs) // 4 + 1  # noqa: E731
        demand = self._demand(identity, call.route, estimate, 0, requests=inputs)
        return await self._whole(
            identity,
            call.route,
            demand,
            lambda: self.llm.embed(call),
            lambda r: Usage(prompt_tokens=r.prompt_tokens),
        )
