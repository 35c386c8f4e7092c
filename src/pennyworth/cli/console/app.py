"""The console's pages and actions (Starlette, server-rendered), over the CLI's own admin functions.

Every action goes through `pennyworth.cli.admin` — the code `pennyworth keys ...` runs — so the console can do
nothing the command line cannot. Secrets appear once, in the response to the create or rotate form, and are
never logged, stored or put in a URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from pennyworth.access.keys import KeyNotFound, KeyStore
from pennyworth.access.limits import Spend
from pennyworth.access.usage import UsageLedger
from pennyworth.cli import admin
from pennyworth.cli.admin import AdminError
from pennyworth.cli.console import charts, reports
from pennyworth.cli.console.security import Gate, checked_form, guard


@dataclass(frozen=True)
class Console:
    """What the pages read and change: the table's keys, limits and ledger, and the run's gate."""

    store: KeyStore
    spend: Spend
    ledger: UsageLedger
    gate: Gate
    table_name: str


_templates = Environment(
    loader=PackageLoader("pennyworth.cli.console", "templates"), autoescape=select_autoescape(["html"])
)


def _page(console: Console, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _templates.get_template(name).render(
        csrf=console.gate.csrf, table_name=console.table_name, **context
    )
    return HTMLResponse(html, status_code=status)


def _today() -> Any:
    return datetime.now(UTC).date()


def _decorate(view: dict[str, Any], last_used: dict[str, str]) -> dict[str, Any]:
    """A key view plus what the pages show: limits text, spend against budget, last use."""
    spent = float(view.get("spend_this_period_usd") or 0.0)
    budget = view.get("budget_usd")
    used = min(100.0, spent / budget * 100) if budget else (100.0 if budget == 0 else 0.0)
    return {
        **view,
        "limits": admin.limits_text(view),
        "spent": spent,
        "used_percent": round(used, 1),
        "last_used": last_used.get(view["key_id"]),
    }


def _form_fields(form: dict[str, str], creating: bool) -> tuple[dict[str, Any], list[str]]:
    """Form values → `admin.key_fields(...)` and the fields an emptied input clears (on update)."""

    def number(name: str, kind: type[int] | type[float]) -> Any:
        value = form.get(name, "").strip()
        if not value:
            return None
        try:
            return kind(value)
        except ValueError as exc:
            raise AdminError(f"{name}: expected a number, got {value!r}") from exc

    fields = admin.key_fields(
        name=(form.get("name") or "").strip() or None if creating else None,
        owner=(form.get("owner") or "").strip() or None,
        models=form.get("models", "").strip() or None,
        rpm=number("rpm", int),
        tpm=number("tpm", int),
        max_concurrency=number("max_concurrency", int),
        max_tokens=number("max_tokens", int),
        budget=number("budget", float),
        period=form.get("period") or None,
        expires=(form.get("expires") or "").strip() or None,
    )
    if creating:
        if "name" not in fields:
            raise AdminError("a key needs a name")
        return fields, []
    blanks = {
        "rpm": "rpm",
        "tpm": "tpm",
        "max_concurrency": "max_concurrency",
        "max_tokens": "max_tokens",
        "budget": "budget_usd",
        "models": "allowed_models",
    }
    cleared = [field for name, field in blanks.items() if not form.get(name, "").strip()]
    return fields, cleared


async def keys_page(console: Console, request: Request) -> Response:
    views, rows = await run_in_threadpool(
        lambda: (admin.list_keys(console.store, console.spend), console.ledger.rows())
    )
    last = reports.last_used(rows)
    return _page(console, "keys.html", keys=[_decorate(v, last) for v in views])


async def key_page(
    console: Console, request: Request, error: str | None = None, status: int = 200
) -> Response:
    key_id = request.path_params["key_id"]
    period = reports.parse_range(None, None, _today())
    try:
        view, rows = await run_in_threadpool(
            lambda: (
                admin.show_key(console.store, console.spend, key_id),
                console.ledger.rows(key_id, period.start),
            )
        )
    except KeyNotFound:
        return _page(console, "base.html", status=404, error=f"No key {key_id!r} in this table.")
    series = reports.series(reports.in_range(rows, period), "model", "cost_usd")
    return _page(
        console,
        "key.html",
        status=status,
        error=error,
        key=_decorate(view, reports.last_used(rows)),
        cost_chart=charts.stacked_bars("Cost per day by model", period.days, series, money=True),
        legend=charts.legend(series),
    )


async def create_key(console: Console, request: Request) -> Response:
    form = await checked_form(console.gate, request)
    if form is None:
        return _page(console, "base.html", status=403, error="The form expired: reload the page.")
    try:
        fields, _ = _form_fields(form, creating=True)
        view, secret = await run_in_threadpool(admin.create_key, console.store, fields)
    except AdminError as exc:
        return _page(console, "base.html", status=400, error=str(exc))
    return _page(console, "secret.html", heading=f"Key created: {view['name']}", key=view, secret=secret)


async def key_action(console: Console, request: Request) -> Response:
    form = await checked_form(console.gate, request)
    key_id, action = request.path_params["key_id"], request.path_params["action"]
    if form is None:
        return _page(console, "base.html", status=403, error="The form expired: reload the page.")
    try:
        if action == "rotate":
            view, secret = await run_in_threadpool(admin.rotate_key, console.store, key_id)
            return _page(
                console, "secret.html", heading=f"New secret for {view['name']}", key=view, secret=secret
            )
        if action == "revoke":
            await run_in_threadpool(admin.revoke_key, console.store, key_id)
        elif action == "update":
            fields, cleared = _form_fields(form, creating=False)
            await run_in_threadpool(admin.update_key, console.store, key_id, fields, cleared)
        else:
            return _page(console, "base.html", status=404, error=f"Unknown action {action!r}.")
    except KeyNotFound:
        return _page(console, "base.html", status=404, error=f"No key {key_id!r} in this table.")
    except AdminError as exc:
        return await key_page(console, request, error=str(exc), status=400)
    return RedirectResponse(f"/keys/{key_id}", status_code=303)


async def usage_page(console: Console, request: Request) -> Response:
    by = request.query_params.get("by", "key")
    try:
        period = reports.parse_range(
            request.query_params.get("from"), request.query_params.get("to"), _today()
        )
        if by not in reports.GROUPS:
            raise AdminError(f"by: expected one of {', '.join(reports.GROUPS)}")
    except AdminError as exc:
        return _page(console, "base.html", status=400, error=str(exc))
    rows = reports.in_range(await run_in_threadpool(console.ledger.rows, None, period.start), period)
    cost = reports.series(rows, by, "cost_usd")
    tokens = [
        charts.Series(p.name, {d: p.values.get(d, 0.0) + c.values.get(d, 0.0) for d in period.days})
        for p, c in zip(
            reports.series(rows, by, "prompt_tokens"),
            reports.series(rows, by, "completion_tokens"),
            strict=True,
        )
    ]
    return _page(
        console,
        "usage.html",
        start=period.start.isoformat(),
        end=period.end.isoformat(),
        by=by,
        groups=reports.GROUPS,
        charts={
            "cost": charts.stacked_bars("Cost per day", period.days, cost, money=True),
            "requests": charts.stacked_bars(
                "Requests per day", period.days, reports.series(rows, by, "requests")
            ),
            "tokens": charts.stacked_bars("Tokens per day", period.days, tokens),
        },
        legend=charts.legend(cost),
        totals=reports.totals(rows, by),
    )


async def usage_csv(console: Console, request: Request) -> Response:
    try:
        period = reports.parse_range(
            request.query_params.get("from"), request.query_params.get("to"), _today()
        )
    except AdminError as exc:
        return Response(str(exc), status_code=400, media_type="text/plain")
    rows = reports.in_range(await run_in_threadpool(console.ledger.rows, None, period.start), period)
    name = f"pennyworth-usage-{period.start}-{period.end}.csv"
    return Response(
        reports.to_csv(rows),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def create_console_app(console: Console) -> Starlette:
    static = str(resources.files("pennyworth.cli.console") / "static")

    def bound(handler: Any) -> Any:
        return partial(handler, console)

    return Starlette(
        routes=[
            Route("/", bound(keys_page)),
            Route("/keys", bound(create_key), methods=["POST"]),
            Route("/keys/{key_id}", bound(key_page)),
            Route("/keys/{key_id}/{action}", bound(key_action), methods=["POST"]),
            Route("/usage", bound(usage_page)),
            Route("/usage.csv", bound(usage_csv)),
            Mount("/static", StaticFiles(directory=static), name="static"),
        ],
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=partial(guard, console.gate))],
    )
