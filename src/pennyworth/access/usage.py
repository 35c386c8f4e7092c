"""The usage ledger: per key, per model, per day — requests, errors, tokens (prompt, completion, cache reads
and cache writes), cost, and the set of Bedrock routes that answered (a fallback's shows when one served).

Each request that reached a model adds its figures with an `ADD` on `USAGE#<key id>` / `<day>#<model>` (no
read-modify-write, so concurrent instances never lose counts). The gateway writes it in one
`TransactWriteItems` together with the request's limit true-ups (`limits.Limiter.settlement`), with the
request's id as `ClientRequestToken`: a retry of a write DynamoDB applied but whose answer was lost is not
applied again, so nothing is counted twice. A write that still fails within the deadline is logged at ERROR
with the item and every figure (so it can be restored from the logs) and counted in the `LedgerWriteFailures`
metric; the answer, already computed, is still delivered. The CLI reads the ledger with boto3.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from pennyworth.access.table import NANO, USAGE_PREFIX, usage_key, usage_partition
from pennyworth.aws.dynamodb import DynamoError, DynamoHttp, attributes
from pennyworth.llm.types import Usage
from pennyworth.observability import emit_ledger_write_failure, get_logger

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


@dataclass(frozen=True)
class UsageRecord:
    """One request's figures for the ledger."""

    key_id: str
    model: str
    usage: Usage | None
    cost_nusd: int
    error: bool = False
    route: str | None = None  # the provider id that answered

    def figures(self) -> dict[str, int]:
        usage = self.usage or Usage()
        return {
            "requests": 1,
            "errors": 1 if self.error else 0,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "cached_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
            "cost_nusd": self.cost_nusd,
        }


_UPDATE = (
    "ADD "
    + ", ".join(f"{name} :{name}" for name in _FIGURES)
    + " SET key_id = :key_id, model = :model, #day = :day"
)
_UPDATE_WITH_ROUTE = _UPDATE.replace(" SET ", ", routes :routes SET ")


def ledger_item(table_name: str, record: UsageRecord, day: str) -> dict[str, Any]:
    """The ledger's ADD for one request, as a transaction item."""
    values: dict[str, Any] = {f":{name}": value for name, value in record.figures().items()}
    values.update({":key_id": record.key_id, ":model": record.model, ":day": day})
    if record.route:
        values[":routes"] = {record.route}  # a string set: ADD keeps each route once
    return {
        "Update": {
            "TableName": table_name,
            "Key": attributes(usage_key(record.key_id, day, record.model)),
            "UpdateExpression": _UPDATE_WITH_ROUTE if record.route else _UPDATE,
            "ExpressionAttributeNames": {"#day": "day"},
            "ExpressionAttributeValues": attributes(values),
        }
    }


class UsageLedger:
    """Writes from the gateway (`record`, over the async client), reads for the CLI (`rows`, boto3 table)."""

    def __init__(
        self,
        table: Any,
        writer: DynamoHttp | None = None,
        *,
        table_name: str | None = None,
        emit_metrics: bool = False,
    ) -> None:
        self._table = table
        self._table_name = table_name or (table.name if table is not None else "")
        self._writer = writer
        self._emit_metrics = emit_metrics

    async def record(
        self, request_id: str, record: UsageRecord, with_items: list[dict[str, Any]] | None = None
    ) -> bool:
        """Add one request's figures, and apply `with_items` in the same transaction, once per `request_id`
        however often it is retried. True when stored; never raises (a final failure is logged and counted)."""
        if self._writer is None:
            raise RuntimeError("the ledger was built without a writer (CLI use)")
        day = datetime.now(UTC).date().isoformat()
        items = [ledger_item(self._table_name, record, day), *(with_items or [])]
        try:
            await self._writer.call(
                "TransactWriteItems", {"TransactItems": items, "ClientRequestToken": request_id}
            )
        except DynamoError as exc:
            logger.error(
                "usage write failed: request_id=%s item=%s figures=%s (%s)",
                request_id,
                usage_key(record.key_id, day, record.model),
                record.figures(),
                exc,
            )
            if self._emit_metrics:
                emit_ledger_write_failure()
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
