"""Pure logic under the usage page: ranges, series, totals, last use, CSV, and the SVG charts."""

from __future__ import annotations

import re
from datetime import date

import pytest

from pennyworth.access.usage import UsageRow
from pennyworth.cli.admin import AdminError
from pennyworth.cli.console import charts, reports

ROWS = [
    UsageRow(
        "k1",
        "2026-11-01",
        "claude-sonnet-5-5",
        requests=2,
        prompt_tokens=10,
        completion_tokens=5,
        cost_usd=0.5,
    ),
    UsageRow("k1", "2026-11-02", "nova-pro", requests=1, prompt_tokens=4, completion_tokens=1, cost_usd=0.1),
    UsageRow("k2", "2026-11-02", "claude-sonnet-5-5", requests=3, errors=1, cost_usd=1.25),
]


def test_range_defaults_and_limits() -> None:
    period = reports.parse_range(None, None, date(2026, 12, 1))
    assert (period.start, period.end, len(period.days)) == (date(2026, 11, 2), date(2026, 12, 1), 30)
    with pytest.raises(AdminError):
        reports.parse_range("2026-12-02", "2026-12-01", date(2026, 12, 1))
    with pytest.raises(AdminError):
        reports.parse_range("2024-01-01", "2026-12-01", date(2026, 12, 1))


def test_series_totals_and_last_use() -> None:
    by_key = reports.series(ROWS, "key", "cost_usd")
    assert [s.name for s in by_key] == ["k2", "k1"]  # largest first
    assert by_key[1].values == {"2026-11-01": 0.5, "2026-11-02": 0.1}
    totals = {r["model"]: r for r in reports.totals(ROWS, "model")}
    assert totals["claude-sonnet-5-5"]["requests"] == 5 and totals["claude-sonnet-5-5"]["errors"] == 1
    assert reports.last_used(ROWS) == {"k1": "2026-11-02", "k2": "2026-11-02"}


def test_csv_has_one_line_per_row() -> None:
    lines = reports.to_csv(ROWS).splitlines()
    assert lines[0] == (
        "day,key_id,model,requests,errors,prompt_tokens,completion_tokens,cached_tokens,cache_write_tokens,"
        "cost_usd,routes"
    )
    assert len(lines) == 4 and lines[1].startswith("2026-11-01,k1,claude-sonnet-5-5,2,0,10,5,0,0,0.5")


def test_chart_draws_a_bar_per_series_and_day_in_proportion() -> None:
    days = ["2026-11-01", "2026-11-02"]
    svg = charts.stacked_bars("Cost", days, reports.series(ROWS, "key", "cost_usd"), money=True)
    assert svg.startswith("<svg") and svg.count('class="bar"') == 3
    assert 'data-series="k2" data-day="2026-11-02" data-value="1.25"' in svg
    assert "$1.35" in svg  # the y-axis maximum is the largest day's total
    assert charts.stacked_bars("Empty", days, []).count('class="bar"') == 0


def test_chart_escapes_names() -> None:
    svg = charts.stacked_bars("t", ["2026-11-01"], [charts.Series("<script>", {"2026-11-01": 1.0})])
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_a_small_nonzero_bar_stays_visible() -> None:
    day = "2026-11-01"
    big, tiny = charts.Series("big", {day: 100_000.0}), charts.Series("tiny", {day: 0.01})
    svg = charts.stacked_bars("Tokens", [day], [big, tiny])
    heights = {name: float(h) for h, name in re.findall(r'height="([0-9.]+)" [^>]*data-series="(\w+)"', svg)}
    assert heights["tiny"] >= charts.MIN_BAR and heights["big"] > heights["tiny"]
