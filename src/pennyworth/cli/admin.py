"""What the operator's commands do: create and manage keys, read usage, create the table.

Administration is IAM: these functions talk to DynamoDB with the operator's own AWS credentials; there is no
master key and no admin HTTP route. `pennyworth.cli.main` parses arguments and prints; this module does the work
and shapes the output (tables for people, JSON for scripts).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pennyworth.access.keys import KeyRecord, KeyStore
from pennyworth.access.limits import Spend
from pennyworth.access.usage import UsageLedger, UsageRow

_RELATIVE = re.compile(r"^(\d+)([dhm])$")
# What a new key gets unless told otherwise: a bound on requests in flight, so one key cannot take the
# account's Lambda concurrency (streams can be held for 15 minutes). `--max-concurrency` changes it.
NEW_KEY_DEFAULTS: dict[str, Any] = {"max_concurrency": 10}


class AdminError(Exception):
    """A problem to report in one line (exit status 1)."""


def parse_expiry(value: str) -> str:
    """`2027-01-01`, an ISO timestamp, or a duration like `30d` / `12h` / `45m` → ISO timestamp (UTC)."""
    match = _RELATIVE.match(value)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        delta = {"d": timedelta(days=amount), "h": timedelta(hours=amount), "m": timedelta(minutes=amount)}[
            unit
        ]
        return (datetime.now(UTC) + delta).isoformat()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise AdminError(
            f"--expires: expected a date (2027-01-01) or a duration (30d), got {value!r}"
        ) from exc
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def parse_tags(values: list[str]) -> dict[str, str]:
    tags = {}
    for value in values:
        name, sep, tag_value = value.partition("=")
        if not sep or not name:
            raise AdminError(f"--tag: expected key=value, got {value!r}")
        tags[name] = tag_value
    return tags


def key_fields(
    *,
    name: str | None = None,
    owner: str | None = None,
    models: str | None = None,
    rpm: int | None = None,
    tpm: int | None = None,
    max_concurrency: int | None = None,
    max_tokens: int | None = None,
    budget: float | None = None,
    period: str | None = None,
    expires: str | None = None,
    tags: list[str] | None = None,
) -> dict[str, Any]:
    """The KeyRecord fields the options set (an option left out is not in the result)."""
    fields: dict[str, Any] = {}
    if name is not None:
        fields["name"] = name
    if owner is not None:
        fields["owner"] = owner
    if models is not None:
        fields["allowed_models"] = tuple(m.strip() for m in models.split(",") if m.strip())
    for field, value in (
        ("rpm", rpm),
        ("tpm", tpm),
        ("max_concurrency", max_concurrency),
        ("max_tokens", max_tokens),
    ):
        if value is not None:
            if value < 1:
                raise AdminError(f"--{field.replace('_', '-')} must be at least 1")
            fields[field] = value
    if budget is not None:
        if budget < 0:
            raise AdminError("--budget must not be negative")
        fields["budget_usd"] = budget
    if period is not None:
        fields["budget_period"] = period
    if expires is not None:
        fields["expires"] = parse_expiry(expires)
    if tags:
        fields["tags"] = parse_tags(tags)
    return fields


def key_view(record: KeyRecord, spent: float | None = None) -> dict[str, Any]:
    """A key as the CLI shows it: never the secret nor its hash."""
    view = asdict(record)
    view.pop("key_hash")
    view["allowed_models"] = list(record.allowed_models)
    view["state"] = "expired" if record.status == "active" and record.is_expired() else record.status
    if spent is not None:
        view["spend_this_period_usd"] = round(spent, 6)
    return view


def list_keys(store: KeyStore, spend: Spend) -> list[dict[str, Any]]:
    return [
        key_view(r, spend.spent(r.key_id, r.budget_period) if r.budget_usd is not None else None)
        for r in store.list()
    ]


def show_key(store: KeyStore, spend: Spend, key_id: str) -> dict[str, Any]:
    """One key as operators see it, with its spend this period when it has a budget."""
    record = store.get(key_id, consistent=True)
    spent = spend.spent(record.key_id, record.budget_period) if record.budget_usd is not None else None
    return key_view(record, spent)


def create_key(store: KeyStore, fields: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A new key from `key_fields(...)` over the defaults for new keys: its view, and the secret (shown once,
    never stored)."""
    record, key = store.create({**NEW_KEY_DEFAULTS, **fields})
    return key_view(record), key


# What "clear" sets each clearable field back to.
CLEARABLE: dict[str, Any] = {
    "rpm": None,
    "tpm": None,
    "max_concurrency": None,
    "max_tokens": None,
    "budget_usd": None,
    "expires": None,
    "allowed_models": (),
}


def update_key(
    store: KeyStore, key_id: str, changes: dict[str, Any], cleared: Iterable[str] = ()
) -> dict[str, Any]:
    """Apply `changes` (from `key_fields`) and clear the `cleared` fields (names in CLEARABLE)."""
    changes = dict(changes)
    for field in cleared:
        if field not in CLEARABLE:
            raise AdminError(f"{field} cannot be cleared")
        changes[field] = CLEARABLE[field]
    if not changes:
        raise AdminError("nothing to update: give at least one option")
    return key_view(store.update(key_id, changes))


def revoke_key(store: KeyStore, key_id: str) -> dict[str, Any]:
    return key_view(store.revoke(key_id))


def rotate_key(store: KeyStore, key_id: str) -> tuple[dict[str, Any], str]:
    """A new secret for the same key id and settings; the old secret stops working."""
    record, key = store.rotate(key_id)
    return key_view(record), key


def limits_text(view: dict[str, Any]) -> str:
    parts = []
    if view.get("rpm"):
        parts.append(f"{view['rpm']} rpm")
    if view.get("tpm"):
        parts.append(f"{view['tpm']} tpm")
    if view.get("max_concurrency"):
        parts.append(f"{view['max_concurrency']} in flight")
    if view.get("max_tokens"):
        parts.append(f"max_tokens {view['max_tokens']}")
    if view.get("budget_usd") is not None:
        parts.append(f"${view['budget_usd']:g}/{view['budget_period']}")
    return ", ".join(parts) or "-"


def keys_table(views: list[dict[str, Any]]) -> str:
    header = ("ID", "NAME", "OWNER", "STATUS", "MODELS", "LIMITS", "CREATED", "EXPIRES", "SPENT")
    rows = [
        (
            v["key_id"],
            v["name"],
            v["owner"] or "-",
            v["state"],
            ",".join(v["allowed_models"]) or "all",
            limits_text(v),
            v["created"][:10],
            (v["expires"] or "-")[:10],
            f"${v['spend_this_period_usd']:.4f}" if "spend_this_period_usd" in v else "-",
        )
        for v in views
    ]
    return format_table(header, rows)


def format_table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    cells = [tuple(str(c) for c in header), *[tuple(str(c) for c in row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def parse_since(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise AdminError(f"--since: expected a date like 2026-11-01, got {value!r}") from exc


def usage_report(ledger: UsageLedger, key_id: str | None, since: date | None, by: str) -> dict[str, Any]:
    """Ledger rows grouped by model or day (and key), with totals."""
    rows = ledger.rows(key_id, since)
    groups: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        figures = groups[(row.key_id, row.model if by == "model" else row.day)]
        for name, value in _figures(row).items():
            figures[name] += value
    grouped = [
        {"key_id": key, by: group, **{k: _number(k, v) for k, v in figures.items()}}
        for (key, group), figures in sorted(groups.items())
    ]
    totals: dict[str, float] = defaultdict(float)
    for row in rows:
        for name, value in _figures(row).items():
            totals[name] += value
    return {"rows": grouped, "totals": {k: _number(k, v) for k, v in totals.items()}}


def _figures(row: UsageRow) -> dict[str, float]:
    figures = asdict(row)
    for name in ("key_id", "day", "model", "routes"):
        figures.pop(name)
    return figures


def _number(name: str, value: float) -> float | int:
    return round(value, 6) if name == "cost_usd" else int(value)


def usage_table(report: dict[str, Any], by: str) -> str:
    header = ("KEY", by.upper(), "REQUESTS", "ERRORS", "PROMPT", "COMPLETION", "CACHED", "COST USD")
    rows = [
        (
            r["key_id"],
            r[by],
            r["requests"],
            r["errors"],
            r["prompt_tokens"],
            r["completion_tokens"],
            r["cached_tokens"],
            f"{r['cost_usd']:.6f}",
        )
        for r in report["rows"]
    ]
    t = report["totals"]
    if t:
        rows.append(
            (
                "TOTAL",
                "",
                t["requests"],
                t["errors"],
                t["prompt_tokens"],
                t["completion_tokens"],
                t["cached_tokens"],
                f"{t['cost_usd']:.6f}",
            )
        )
    return format_table(header, rows)
