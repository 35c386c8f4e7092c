"""Per-key limits enforced across Lambda instances before a model is called: requests and tokens per minute,
budgets as caps, and a cap on requests in flight.

Admission is a few conditional UpdateItems, each atomic on its item, so concurrent instances can never admit
more than a limit allows (docs/design-keys.md):

- RPM/TPM: one item per key per fixed minute (`RATE#<minute>`): `ADD requests :n, tokens :estimate` only if
  the requests still fit and the tokens are under the limit.
- Budget: the period's spend (`SPEND#<period>`) is raised by the request's worst-case cost only while it is
  under the budget — a reservation. After the call the difference to the real cost is refunded, so the spend
  can pass the budget by at most what the last admitted request could cost.
- Concurrency: a map of leases (`LEASES`: lease id → expiry). A request takes a lease only while fewer than
  the cap are held; it gives it back when it ends. A lease left by an instance that died expires after
  `lease_seconds` and is swept the next time the cap is reached.

A step that fails undoes the steps before it. `settlement` gives the after-call true-ups as transaction
items, written with the ledger in one idempotent transaction (`usage.py`).
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pennyworth.access.keys import KeyIdentity
from pennyworth.access.table import NANO, TTL_ATTRIBUTE, leases_key, rate_window_key, spend_key
from pennyworth.aws.dynamodb import DynamoError, DynamoHttp, attributes, plain
from pennyworth.errors import QuotaExceeded, RateLimited, ServiceUnavailable
from pennyworth.observability import get_logger

WINDOW_SECONDS = 60
logger = get_logger("access.limits")
_CONDITION_FAILED = "ConditionalCheckFailedException"


@dataclass(frozen=True)
class Demand:
    """What one request asks of its key: requests and a token estimate (RPM/TPM), its worst-case cost in
    nano-dollars (the budget's reservation), and whether it holds a concurrency slot while it runs."""

    requests: int = 1
    tokens: int = 0
    cost_nusd: int = 0
    concurrent: bool = True


@dataclass
class Admission:
    """What admitting a request took, to be given back or trued up when it ends."""

    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    window: int | None = None
    requests: int = 0
    tokens: int = 0
    spend_period: str | None = None
    reserved_nusd: int = 0
    lease: str | None = None
    started: float = field(default_factory=time.monotonic)


def period_id(period: str, at: datetime) -> tuple[str, int | None]:
    """The spend item's period id and its TTL (epoch seconds), for a budget period at `at` (UTC)."""
    if period == "daily":
        return f"D{at:%Y-%m-%d}", int((at + timedelta(days=35)).timestamp())
    if period == "monthly":
        return f"M{at:%Y-%m}", int((at + timedelta(days=400)).timestamp())
    return "TOTAL", None


def unavailable(exc: DynamoError) -> ServiceUnavailable:
    """The client's view of a control plane that did not answer (the cause goes to the log)."""
    logger.error("DynamoDB unavailable on the request path: %s", exc)
    return ServiceUnavailable(
        "The gateway cannot check this API key's limits right now. Try again shortly.", retry_after=2
    )


class Limiter:
    """Admission and settlement against the table, over the gateway's async DynamoDB client."""

    def __init__(
        self,
        dynamo: DynamoHttp,
        table_name: str,
        lease_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._dynamo = dynamo
        self._table = table_name
        self._lease_seconds = lease_seconds
        self._clock = clock

    def needs_admission(self, identity: KeyIdentity, demand: Demand) -> bool:
        return (
            identity.rpm is not None
            or identity.tpm is not None
            or identity.budget_usd is not None
            or (identity.max_concurrency is not None and demand.concurrent)
        )

    async def admit(self, identity: KeyIdentity, demand: Demand) -> Admission:
        """Count, reserve and lease what `demand` needs, or raise RateLimited / QuotaExceeded (nothing kept),
        or ServiceUnavailable when DynamoDB does not answer in time."""
        admission = Admission()
        try:
            if identity.rpm is not None or identity.tpm is not None:
                await self._count_rate(identity, demand, admission)
            if identity.budget_usd is not None:
                await self._reserve_budget(identity, demand, admission)
            if identity.max_concurrency is not None and demand.concurrent:
                await self._take_lease(identity, identity.max_concurrency, admission)
        except BaseException as exc:
            await self._undo(identity, admission)
            if isinstance(exc, DynamoError):
                raise unavailable(exc) from exc
            raise
        return admission

    async def _update(self, key: dict[str, str], expression: str, **extra: Any) -> None:
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": attributes(key),
            "UpdateExpression": expression,
        }
        for name, value in extra.items():
            request[name] = attributes(value) if name == "ExpressionAttributeValues" else value
        await self._dynamo.call("UpdateItem", request)

    async def _count_rate(self, identity: KeyIdentity, demand: Demand, admission: Admission) -> None:
        now = self._clock()
        window = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
        conditions = []
        values: dict[str, Any] = {
            ":n": demand.requests,
            ":tokens": demand.tokens,
            ":ttl": window + WINDOW_SECONDS + 3600,
        }
        if identity.rpm is not None:
            conditions.append("(attribute_not_exists(requests) OR requests <= :room)")
            values[":room"] = identity.rpm - demand.requests
        if identity.tpm is not None:
            conditions.append("(attribute_not_exists(tokens) OR tokens < :tpm)")
            values[":tpm"] = identity.tpm
        try:
            await self._update(
                rate_window_key(identity.key_id, window),
                "ADD requests :n, tokens :tokens SET #ttl = :ttl",
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
                ExpressionAttributeValues=values,
            )
        except DynamoError as exc:
            if exc.error_type != _CONDITION_FAILED:
                raise
            retry_after = max(1, math.ceil(window + WINDOW_SECONDS - now))
            limits = [
                f"{n} {name}" for n, name in ((identity.rpm, "requests"), (identity.tpm, "tokens")) if n
            ]
            raise RateLimited(
                f"Rate limit reached for this API key ({' / '.join(limits)} per minute). "
                f"Try again in {retry_after} s.",
                retry_after=retry_after,
            ) from exc
        admission.window, admission.requests, admission.tokens = window, demand.requests, demand.tokens

    async def _reserve_budget(self, identity: KeyIdentity, demand: Demand, admission: Admission) -> None:
        period, ttl = period_id(identity.budget_period, datetime.fromtimestamp(self._clock(), UTC))
        budget_nusd = round((identity.budget_usd or 0.0) * NANO)
        values: dict[str, Any] = {":cost": demand.cost_nusd, ":budget": budget_nusd}
        expression = "ADD cost_nusd :cost"
        names: dict[str, str] = {}
        if ttl is not None:
            expression += " SET #ttl = :ttl"
            values[":ttl"] = ttl
            names["#ttl"] = TTL_ATTRIBUTE
        if budget_nusd <= 0:
            raise QuotaExceeded(
                f"This API key has a {identity.budget_period} budget of $0.", retry_after=None
            )
        try:
            await self._update(
                spend_key(identity.key_id, period),
                expression,
                ConditionExpression="attribute_not_exists(cost_nusd) OR cost_nusd < :budget",
                ExpressionAttributeValues=values,
                **({"ExpressionAttributeNames": names} if names else {}),
            )
        except DynamoError as exc:
            if exc.error_type != _CONDITION_FAILED:
                raise
            raise QuotaExceeded(
                f"This API key has used its {identity.budget_period} budget of ${identity.budget_usd:.2f}.",
                retry_after=None,
            ) from exc
        admission.spend_period, admission.reserved_nusd = period, demand.cost_nusd

    async def _take_lease(self, identity: KeyIdentity, cap: int, admission: Admission) -> None:
        lease = admission.request_id
        for attempt in range(3):
            try:
                await self._update(
                    leases_key(identity.key_id),
                    "SET leases.#lease = :expiry",
                    ConditionExpression="attribute_exists(leases) AND size(leases) < :cap",
                    ExpressionAttributeNames={"#lease": lease},
                    ExpressionAttributeValues={
                        ":expiry": int(self._clock() + self._lease_seconds),
                        ":cap": cap,
                    },
                )
            except DynamoError as exc:
                if exc.error_type != _CONDITION_FAILED:
                    raise
                if attempt < 2 and (
                    await self._create_leases(identity) or await self._sweep_leases(identity)
                ):
                    continue
                raise RateLimited(
                    f"This API key already has {cap} requests in flight, its limit. Try again when one ends.",
                    code="concurrency_limit_exceeded",
                    retry_after=1,
                ) from exc
            admission.lease = lease
            return

    async def _create_leases(self, identity: KeyIdentity) -> bool:
        """Give the key its (empty) lease map if it has none yet; True when it was missing."""
        try:
            await self._update(
                leases_key(identity.key_id),
                "SET leases = :empty",
                ConditionExpression="attribute_not_exists(leases)",
                ExpressionAttributeValues={":empty": {}},
            )
        except DynamoError as exc:
            if exc.error_type == _CONDITION_FAILED:
                return False
            raise
        return True

    async def _sweep_leases(self, identity: KeyIdentity) -> bool:
        """Remove expired leases (left by instances that died); True when any was removed."""
        answer = await self._dynamo.call(
            "GetItem",
            {
                "TableName": self._table,
                "Key": attributes(leases_key(identity.key_id)),
                "ConsistentRead": True,
            },
        )
        leases = plain(answer.get("Item") or {}).get("leases") or {}
        now = self._clock()
        expired = [lease for lease, expiry in leases.items() if int(expiry) <= now]
        if not expired:
            return False
        names = {f"#e{i}": lease for i, lease in enumerate(expired)}
        await self._update(
            leases_key(identity.key_id),
            "REMOVE " + ", ".join(f"leases.{name}" for name in names),
            ExpressionAttributeNames=names,
        )
        logger.warning("swept %d expired lease(s) of key %s", len(expired), identity.key_id)
        return True

    async def _undo(self, identity: KeyIdentity, admission: Admission) -> None:
        """Give back what a refused admission took before the step that refused it (best effort)."""
        items = self.settlement(identity, admission, admission.tokens, 0)
        if admission.window is not None:
            items.append(self._rate_item(identity, admission.window, -admission.requests, -admission.tokens))
        for item in items:
            try:
                await self._dynamo.call("UpdateItem", item["Update"])
            except DynamoError as exc:
                logger.error(
                    "could not undo part of a refused admission for key %s: %s", identity.key_id, exc
                )

    def _rate_item(self, identity: KeyIdentity, window: int, requests: int, tokens: int) -> dict[str, Any]:
        return self._add_item(
            rate_window_key(identity.key_id, window), {"requests": requests, "tokens": tokens}
        )

    def _add_item(self, key: dict[str, str], figures: dict[str, int]) -> dict[str, Any]:
        names = [name for name, value in figures.items() if value]
        return {
            "Update": {
                "TableName": self._table,
                "Key": attributes(key),
                "UpdateExpression": "ADD " + ", ".join(f"{name} :{name}" for name in names),
                "ExpressionAttributeValues": attributes({f":{name}": figures[name] for name in names}),
            }
        }

    def settlement(
        self, identity: KeyIdentity, admission: Admission, actual_tokens: int, cost_nusd: int
    ) -> list[dict[str, Any]]:
        """After the call, as transaction items: the minute's tokens trued up to the real count, the budget's
        reservation turned into the real cost, and the lease given back."""
        items: list[dict[str, Any]] = []
        delta = actual_tokens - admission.tokens
        if admission.window is not None and identity.tpm is not None and delta:
            items.append(self._rate_item(identity, admission.window, 0, delta))
        if admission.spend_period is not None and cost_nusd != admission.reserved_nusd:
            key = spend_key(identity.key_id, admission.spend_period)
            items.append(self._add_item(key, {"cost_nusd": cost_nusd - admission.reserved_nusd}))
        if admission.lease is not None:
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": attributes(leases_key(identity.key_id)),
                        "UpdateExpression": "REMOVE leases.#lease",
                        "ExpressionAttributeNames": {"#lease": admission.lease},
                    }
                }
            )
        return items


class Spend:
    """The period's spend for the CLI (boto3 table resource, one thread)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def spent(self, key_id: str, period: str) -> float:
        pid, _ = period_id(period, datetime.now(UTC))
        item = self._table.get_item(Key=spend_key(key_id, pid), ConsistentRead=True).get("Item")
        return int(item["cost_nusd"]) / NANO if item else 0.0
