"""Per-key limits enforced across Lambda instances: requests and tokens per minute, and budgets.

RPM and TPM live in one item per key per fixed one-minute window (`RATE#<minute>`), admitted by a single
conditional UpdateItem: `ADD requests 1, tokens <estimate>` only if both are still under their limits, so
concurrent instances can never admit more than the limit. After the call the token count is reconciled with
the real usage (`ADD tokens <actual - estimate>`). Budgets compare the period's spend (`SPEND#<period>`,
kept by `settle`) with the key's budget before each call; in-flight requests may overshoot by their own cost.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from pennyworth.access.keys import KeyIdentity
from pennyworth.access.table import NANO, TTL_ATTRIBUTE, rate_window_key, spend_key
from pennyworth.errors import QuotaExceeded, RateLimited

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Admission:
    """What admitting a request reserved: its minute window and its token estimate (and when it began)."""

    window: int | None
    estimated_tokens: int
    started: float = field(default_factory=time.monotonic)


def period_id(period: str, at: datetime) -> tuple[str, int | None]:
    """The spend item's period id and its TTL (epoch seconds), for a budget period at `at` (UTC)."""
    if period == "daily":
        return f"D{at:%Y-%m-%d}", int((at + timedelta(days=35)).timestamp())
    if period == "monthly":
        return f"M{at:%Y-%m}", int((at + timedelta(days=400)).timestamp())
    return "TOTAL", None


class Limiter:
    def __init__(self, table: Any, clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._clock = clock

    def admit(self, identity: KeyIdentity, estimated_tokens: int) -> Admission:
        """Reserve one request and its estimated tokens, or raise RateLimited / QuotaExceeded."""
        if identity.budget_usd is not None:
            self._check_budget(identity)
        if identity.rpm is None and identity.tpm is None:
            return Admission(window=None, estimated_tokens=estimated_tokens)
        now = self._clock()
        window = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
        condition: Any = None  # a boto3 condition expression, built from the limits the key has
        if identity.rpm is not None:
            condition = Attr("requests").not_exists() | Attr("requests").lt(identity.rpm)
        if identity.tpm is not None:
            under_tpm = Attr("tokens").not_exists() | Attr("tokens").lt(identity.tpm)
            condition = under_tpm if condition is None else condition & under_tpm
        try:
            self._table.update_item(
                Key=rate_window_key(identity.key_id, window),
                UpdateExpression="ADD requests :one, tokens :tokens SET #ttl = :ttl",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
                ExpressionAttributeValues={
                    ":one": 1,
                    ":tokens": estimated_tokens,
                    ":ttl": window + WINDOW_SECONDS + 3600,
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
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
        return Admission(window=window, estimated_tokens=estimated_tokens)

    def _check_budget(self, identity: KeyIdentity) -> None:
        period, _ = period_id(identity.budget_period, datetime.now(UTC))
        item = self._table.get_item(Key=spend_key(identity.key_id, period), ConsistentRead=True).get("Item")
        spent = int(item["cost_nusd"]) / NANO if item else 0.0
        if spent >= float(identity.budget_usd or 0):
            raise QuotaExceeded(
                f"This API key has used its {identity.budget_period} budget of ${identity.budget_usd:.2f} "
                f"(spent ${spent:.4f}).",
                retry_after=None,
            )

    def settle(
        self, identity: KeyIdentity, admission: Admission, actual_tokens: int, cost_usd: float
    ) -> None:
        """After the call: true up the window's token count and add the cost to the period's spend."""
        delta = actual_tokens - admission.estimated_tokens
        if admission.window is not None and identity.tpm is not None and delta:
            self._table.update_item(
                Key=rate_window_key(identity.key_id, admission.window),
                UpdateExpression="ADD tokens :delta",
                ExpressionAttributeValues={":delta": delta},
            )
        if identity.budget_usd is not None and cost_usd:
            period, ttl = period_id(identity.budget_period, datetime.now(UTC))
            values: dict[str, Any] = {":cost": round(cost_usd * NANO)}
            expression = "ADD cost_nusd :cost"
            if ttl is not None:
                expression += " SET #ttl = :ttl"
                values[":ttl"] = ttl
            self._table.update_item(
                Key=spend_key(identity.key_id, period),
                UpdateExpression=expression,
                ExpressionAttributeValues=values,
                **({"ExpressionAttributeNames": {"#ttl": TTL_ATTRIBUTE}} if ttl is not None else {}),
            )

    def spent(self, key_id: str, period: str) -> float:
        """The key's spend in the current `period` (for the CLI)."""
        pid, _ = period_id(period, datetime.now(UTC))
        item = self._table.get_item(Key=spend_key(key_id, pid)).get("Item")
        return int(item["cost_nusd"]) / NANO if item else 0.0
