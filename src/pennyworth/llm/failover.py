"""Throttling absorbed: a Bedrock call retried with jittered backoff, then failed over along the catalog's chain.

Only what Bedrock itself reports as passing trouble is retried — `ThrottlingException` and
`ServiceQuotaExceededException` (our `RateLimited`), `ServiceUnavailableException` and `ModelNotReadyException`
(our `UpstreamUnavailable`) — never a client error. Each route gets up to `attempts_per_route` tries, with
full-jitter exponential backoff (or the `Retry-After` Bedrock sent) between them; then the next route of
`route.fallbacks` is tried at once (another quota). Every wait must fit in the per-request deadline: one that
would not ends the waiting, and what is left of the chain gets one try each. When everything is exhausted
the last error goes to the client (429 with the `Retry-After` Bedrock gave, or our default).

The wrapped call is the whole call for an answer, and only the opening of a stream: once a stream has begun
nothing is retried. Retries and failovers are logged and counted in EMF metrics by model.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio

from pennyworth.catalog import ModelRoute
from pennyworth.errors import GatewayError
from pennyworth.llm.bedrock.wire import BedrockThrottled, BedrockUnavailable
from pennyworth.observability import emit_failover_metrics, get_logger

logger = get_logger("llm.failover")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try before giving up (from the settings)."""

    deadline_seconds: float = 20.0
    attempts_per_route: int = 3
    base_delay_seconds: float = 0.25
    max_delay_seconds: float = 4.0
    emit_metrics: bool = False


@dataclass(frozen=True, slots=True)
class Served:
    """An answer and the route that gave it."""

    route: ModelRoute
    retries: int = 0
    failovers: int = 0


def is_passing(error: GatewayError) -> bool:
    """Whether Bedrock reported trouble that another try (later, or elsewhere) may not meet."""
    return isinstance(error, BedrockThrottled | BedrockUnavailable)


def backoff(attempt: int, policy: RetryPolicy, retry_after: int | None) -> float:
    """The wait before try `attempt + 1` on the same route: Bedrock's Retry-After, else full jitter."""
    if retry_after:
        return float(retry_after)
    return random.uniform(0, min(policy.max_delay_seconds, policy.base_delay_seconds * 2**attempt))


async def call_with_failover(
    route: ModelRoute, call: Callable[[ModelRoute], Awaitable[T]], policy: RetryPolicy
) -> tuple[T, Served]:
    """`call(route)`, retried and failed over as the policy allows; the answer and the route that served it."""
    deadline = time.monotonic() + policy.deadline_seconds
    chain = (route, *route.fallbacks)
    retries = failovers = 0
    waiting = True
    last: GatewayError | None = None
    for position, current in enumerate(chain):
        if position:
            failovers += 1
            logger.info("failing over: from=%s to=%s", chain[position - 1].model_id, current.model_id)
        for attempt in range(policy.attempts_per_route if waiting else 1):
            try:
                answer = await call(current)
            except GatewayError as error:
                if not is_passing(error):
                    raise
                last = error
            else:
                served = Served(current, retries, failovers)
                _count(route, served, policy)
                return answer, served
            if attempt + 1 >= policy.attempts_per_route:
                break
            delay = backoff(attempt, policy, last.retry_after)
            if time.monotonic() + delay > deadline:
                waiting = False  # no time left to wait: the rest of the chain gets one try each
                break
            retries += 1
            logger.info("retrying: model=%s attempt=%d wait=%.2fs", current.model_id, attempt + 2, delay)
            await anyio.sleep(delay)
    assert last is not None
    _count(route, Served(chain[-1], retries, failovers), policy)
    raise last


def _count(route: ModelRoute, served: Served, policy: RetryPolicy) -> None:
    if policy.emit_metrics and (served.retries or served.failovers):
        emit_failover_metrics(route.name, served.retries, served.failovers)
