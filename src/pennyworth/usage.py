"""The usage ledger: per key, per model, per day — requests, errors, tokens and cost.

Each request adds its figures with one atomic `ADD` UpdateItem on `USAGE#<key id>` / `<day>#<model>` (no
read-modify-write, so concurrent instances never lose counts). Writes use botocore's standard retry mode (five
attempts with backoff); a write that still fails is logged with the key id and every figure, so the record
can be restored from the logs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from pennyworth.llm.types import Usage

logger = logging.getLogger("pennyworth.usage")
_FIGURES = ("requests", "errors", "prompt_tokens", "completion_tokens", "cached_tokens", "cost_nusd")
NANO = 1_000_000_000  # costs are stored as integer nano-dollars: exact sums, no float drift in ADDs


@dataclass(frozen=True)
class UsageRow:
    key_id: str
    day: str
    model: str
    requests: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0


class UsageLedger:
    def __init__(self, table: Any) -> None:
        self._table = table

    def record(
        self, key_id: str, model: str, usage: Usage | None, cost_usd: float, *, error: bool = False
    ) -> bool:
        """Add one request's figures; True when stored. Never raises: a final failure is logged instead."""
        usage = usage or Usage()
        day = datetime.now(UTC).date().isoformat()
        figures = {
            "requests": 1,
            "errors": 1 if error else 0,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "cached_tokens": usage.cache_read_tokens,
            "cost_nusd": round(cost_usd * NANO),
        }
        try:
            self._table.update_item(
                Key={"PK": f"USAGE#{key_id}", "SK": f"{day}#{model}"},
                UpdateExpression="ADD "
                + ", ".join(f"{name} :{name}" for name in _FIGURES)
                + " SET key_id = :key_id, model = :model, #day = :day",
                ExpressionAttributeNames={"#day": "day"},
                ExpressionAttributeValues={
                    **{f":{name}": value for name, value in figures.items()},
                    ":key_id": key_id,
                    ":model": model,
                    ":day": day,
                },
            )
        except Exception:
            logger.exception(
                "usage write failed after retries: key_id=%s model=%s day=%s figures=%s",
                key_id,
                model,
                day,
                figures,
            )
            return False
        return True

    def rows(self, key_id: str | None = None, since: date | None = None) -> list[UsageRow]:
        """Ledger rows, for one key (a Query) or all keys (a Scan), from `since` on."""
        start = (since or date(1970, 1, 1)).isoformat()
        items: list[dict[str, Any]] = []
        if key_id is not None:
            kwargs: dict[str, Any] = {
                "KeyConditionExpression": Key("PK").eq(f"USAGE#{key_id}") & Key("SK").gte(start)
            }
            operation = self._table.query
        else:
            kwargs = {"FilterExpression": Attr("PK").begins_with("USAGE#") & Attr("day").gte(start)}
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
    return UsageRow(key_id=item["key_id"], day=item["day"], model=item["model"], cost_usd=cost, **counts)
