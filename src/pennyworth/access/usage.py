"""The usage ledger: per key, per model, per day — requests, errors, tokens (prompt, completion, cache reads
and cache writes), cost, and the set of Bedrock routes that answered (a fallback's shows when one served).

Each request adds its figures with one atomic `ADD` UpdateItem on `USAGE#<key id>` / `<day>#<model>` (no
read-modify-write, so concurrent instances never lose counts). The gateway writes over aiohttp
(`dynamodb_http`, five attempts with backoff); the CLI and tests use boto3 (standard retry mode). A write that
still fails is logged with the item and every figure, so the record can be restored from the logs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from pennyworth.access.table import NANO, USAGE_PREFIX, usage_key, usage_partition
from pennyworth.aws.dynamodb import DynamoHttp
from pennyworth.llm.types import Usage
from pennyworth.observability import get_logger

logger = get_logger("access.usage")
_FIGURES = (
    "requests",
    "errors",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "cost_nusd",
)


@dataclass(frozen=True)
class UsageRow:
    key_id: str
    day: str
    model: str
    requests: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # read from the prompt cache (part of prompt_tokens)
    cache_write_tokens: int = 0  # written to the prompt cache (part of prompt_tokens)
    cost_usd: float = 0.0
    routes: tuple[str, ...] = ()  # the provider ids that answered (another profile or model after a failover)


_UPDATE = (
    "ADD "
    + ", ".join(f"{name} :{name}" for name in _FIGURES)
    + " SET key_id = :key_id, model = :model, #day = :day"
)
_UPDATE_WITH_ROUTE = _UPDATE.replace(" SET ", ", routes :routes SET ")


def _expression(route: str | None) -> str:
    return _UPDATE_WITH_ROUTE if route else _UPDATE


def _update(
    key_id: str, model: str, usage: Usage | None, cost_usd: float, error: bool, route: str | None = None
) -> tuple[dict[str, str], dict[str, Any]]:
    """The ledger item's key and the expression values for one request's figures."""
    usage = usage or Usage()
    day = datetime.now(UTC).date().isoformat()
    figures = {
        "requests": 1,
        "errors": 1 if error else 0,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cached_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "cost_nusd": round(cost_usd * NANO),
    }
    values: dict[str, Any] = {
        **{f":{name}": value for name, value in figures.items()},
        ":key_id": key_id,
        ":model": model,
        ":day": day,
    }
    if route:
        values[":routes"] = {route}
    return usage_key(key_id, day, model), values


class UsageLedger:
    """The ledger table: writes from the gateway (`record_async`, over `DynamoHttp` when given), reads for the CLI."""

    def __init__(self, table: Any, writer: DynamoHttp | None = None) -> None:
        self._table = table
        self._writer = writer

    def record(
        self,
        key_id: str,
        model: str,
        usage: Usage | None,
        cost_usd: float,
        *,
        error: bool = False,
        route: str | None = None,
    ) -> bool:
        """Add one request's figures with boto3; True when stored. Never raises: a final failure is logged."""
        key, values = _update(key_id, model, usage, cost_usd, error, route)
        try:
            self._table.update_item(
                Key=key,
                UpdateExpression=_expression(route),
                ExpressionAttributeNames={"#day": "day"},
                ExpressionAttributeValues=values,
            )
        except Exception:
            _log_lost(key, values)
            return False
        return True

    async def record_async(
        self,
        key_id: str,
        model: str,
        usage: Usage | None,
        cost_usd: float,
        *,
        error: bool = False,
        route: str | None = None,
    ) -> bool:
        """The same write without a worker thread (over aiohttp when a writer is set)."""
        if self._writer is None:
            return await asyncio.to_thread(
                self.record, key_id, model, usage, cost_usd, error=error, route=route
            )
        key, values = _update(key_id, model, usage, cost_usd, error, route)
        try:
            await self._writer.update_item(self._table.name, key, _expression(route), {"#day": "day"}, values)
        except Exception:
            _log_lost(key, values)
            return False
        return True

    async def aclose(self) -> None:
        if self._writer is not None:
            await self._writer.aclose()

    def forget_connections(self) -> None:
        if self._writer is not None:
            self._writer.forget()

    def rows(self, key_id: str | None = None, since: date | None = None) -> list[UsageRow]:
        """Ledger rows, for one key (a Query) or all keys (a Scan), from `since` on."""
        start = (since or date(1970, 1, 1)).isoformat()
        items: list[dict[str, Any]] = []
        if key_id is not None:
            kwargs: dict[str, Any] = {
                "KeyConditionExpression": Key("PK").eq(usage_partition(key_id)) & Key("SK").gte(start)
            }
            operation = self._table.query
        else:
            kwargs = {"FilterExpression": Attr("PK").begins_with(USAGE_PREFIX) & Attr("day").gte(start)}
            operation = self._table.scan
        while True:
            page = operation(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted((_row(item) for item in items), key=lambda r: (r.day, r.key_id, r.model))


def _row(item: dict[str, Any]) -> UsageRow:
    counts = {name: int(item.get(name, 0)) for name in _FIGURES}
    cost = counts.pop("cost_nusd") / NANO
    routes = tuple(sorted(item.get("routes") or ()))
    return UsageRow(
        key_id=item["key_id"], day=item["day"], model=item["model"], cost_usd=cost, routes=routes, **counts
    )


def _log_lost(key: dict[str, Any], values: dict[str, Any]) -> None:
    logger.exception("usage write failed after retries: item=%s figures=%s", key, values)
