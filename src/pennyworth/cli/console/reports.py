"""Ledger rows shaped for the console: a date range, series per key or model, totals, CSV, last use per key."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import asdict, dataclass, fields
from datetime import date, timedelta

from pennyworth.access.usage import UsageRow
from pennyworth.cli.admin import AdminError
from pennyworth.cli.console.charts import Series

# The ledger's figures, in the row's order (requests, errors, tokens, cache reads and writes, cost).
METRICS = tuple(f.name for f in fields(UsageRow) if f.name not in ("key_id", "day", "model", "routes"))
GROUPS = ("key", "model")


@dataclass(frozen=True)
class Range:
    start: date
    end: date

    @property
    def days(self) -> list[str]:
        return [(self.start + timedelta(days=n)).isoformat() for n in range((self.end - self.start).days + 1)]


def parse_range(start: str | None, end: str | None, today: date) -> Range:
    """`from`/`to` query values (yyyy-mm-dd) → a range; defaults to the last 30 days; at most 366 days."""
    try:
        last = date.fromisoformat(end) if end else today
        first = date.fromisoformat(start) if start else last - timedelta(days=29)
    except ValueError as exc:
        raise AdminError("dates must look like 2026-11-01") from exc
    if first > last:
        raise AdminError("the start date is after the end date")
    if (last - first).days > 365:
        raise AdminError("choose a range of at most one year")
    return Range(first, last)


def in_range(rows: list[UsageRow], period: Range) -> list[UsageRow]:
    first, last = period.start.isoformat(), period.end.isoformat()
    return [r for r in rows if first <= r.day <= last]


def _group_of(row: UsageRow, group: str) -> str:
    return row.key_id if group == "key" else row.model


def series(rows: list[UsageRow], group: str, metric: str) -> list[Series]:
    """One series per key or model: the metric per day, largest total first."""
    values: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        values[_group_of(row, group)][row.day] += float(getattr(row, metric))
    ordered = sorted(values.items(), key=lambda item: -sum(item[1].values()))
    return [Series(name, dict(per_day)) for name, per_day in ordered]


def totals(rows: list[UsageRow], group: str) -> list[dict[str, float | str]]:
    """Totals of every metric per key or model, largest cost first."""
    sums: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(METRICS, 0.0))
    for row in rows:
        figures = sums[_group_of(row, group)]
        for metric in METRICS:
            figures[metric] += float(getattr(row, metric))
    table: list[dict[str, float | str]] = [{group: name, **figures} for name, figures in sums.items()]
    return sorted(table, key=lambda r: -float(r["cost_usd"]))


def last_used(rows: list[UsageRow]) -> dict[str, str]:
    """The last day each key made a request, from the ledger."""
    seen: dict[str, str] = {}
    for row in rows:
        if row.requests and row.day > seen.get(row.key_id, ""):
            seen[row.key_id] = row.day
    return seen


def to_csv(rows: list[UsageRow]) -> str:
    """Ledger rows as CSV, one line per key, model and day."""
    out = io.StringIO()
    fields = ["day", "key_id", "model", *METRICS, "routes"]
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in sorted(rows, key=lambda r: (r.day, r.key_id, r.model)):
        writer.writerow({**asdict(row), "routes": " ".join(row.routes)})
    return out.getvalue()
