"""Charts drawn on the server as inline SVG: bars per day, stacked by series (keys or models).

No charting library is vendored: an SVG of rectangles and text is a few dozen lines, renders in every browser
without JavaScript, needs no pinning or audit, and is testable as plain text.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

# Colour-blind-safe qualitative palette (Okabe-Ito), repeated when there are more series.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 220, 64, 28, 12
MIN_BAR = 1.0  # px: the least height a bar with a nonzero value is drawn at


@dataclass(frozen=True)
class Series:
    name: str
    values: dict[str, float]  # day (yyyy-mm-dd) → value


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _format(value: float, money: bool) -> str:
    if money:
        return f"${value:.4f}" if value < 1 else f"${value:,.2f}"
    return f"{value:,.0f}"


def stacked_bars(title: str, days: list[str], series: list[Series], *, money: bool = False) -> str:
    """An SVG bar chart, one bar per day, each stacked by series, with a y-axis maximum and day labels."""
    totals = [sum(s.values.get(day, 0.0) for s in series) for day in days]
    peak = max(totals, default=0.0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.7, 1.0)
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 8}" y2="{TOP + plot_h}" class="axis"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 10}" text-anchor="end" class="tick">{_format(peak, money)}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" class="tick">0</text>',
    ]
    for d_index, day in enumerate(days):
        x = LEFT + d_index * slot + (slot - bar_w) / 2
        y = float(TOP + plot_h)
        for s_index, one in enumerate(series):
            value = one.values.get(day, 0.0)
            if value <= 0:
                continue
            height = max(value / peak * plot_h, MIN_BAR)  # a small, nonzero figure stays visible
            y -= height
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{height:.1f}" '
                f'fill="{colour(s_index)}" data-series="{escape(one.name)}" data-day="{day}" '
                f'data-value="{value:g}"><title>{escape(one.name)} {day}: {_format(value, money)}</title></rect>'
            )
        if len(days) <= 16 or d_index % max(len(days) // 8, 1) == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" class="tick">{day[5:]}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def legend(series: list[Series]) -> str:
    """The series names with their colours, as HTML."""
    items = "".join(
        f'<li><span class="swatch swatch-{i % len(PALETTE)}"></span>{escape(s.name)}</li>'
        for i, s in enumerate(series)
    )
    return f'<ul class="legend">{items}</ul>'
