"""What a route handler needs, wired once per app: settings, catalog, authenticator, metered LLM calls.

`caller` is the FastAPI dependency that authenticates a request and leaves the key's identity on
`request.state.identity` for limits and usage to hang on. `request_deadline` is when the request's answer
must be finished: `PENNYWORTH_REQUEST_DEADLINE_SECONDS` after it arrived, or earlier when the invocation's
own deadline (the Lambda Web Adapter forwards the Lambda context in `x-amzn-lambda-context`, with its
`deadline` in epoch milliseconds; Mangum hands over the context object itself) leaves less, minus a margin.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request

from pennyworth.access.auth import Authenticator, extract_api_key
from pennyworth.access.files import FileStore
from pennyworth.access.keys import KeyIdentity
from pennyworth.access.metering import Metering
from pennyworth.catalog import Catalog
from pennyworth.settings import Settings


@dataclass
class Services:
    settings: Settings
    catalog: Catalog
    authenticator: Authenticator
    metering: Metering
    files: FileStore | None = None  # None when no inputs bucket is configured


async def get_services(request: Request) -> Services:
    """(async: FastAPI would run a plain function in a worker thread.)"""
    wired: Services = request.app.state.services
    return wired


async def caller(request: Request) -> KeyIdentity:
    identity: KeyIdentity = await request.app.state.services.authenticator.authenticate(
        extract_api_key(request.headers)
    )
    request.state.identity = identity
    return identity


LAMBDA_CONTEXT_HEADER = "x-amzn-lambda-context"


def _invocation_deadline_ms(header: str | None) -> float | None:
    """The Lambda invocation's deadline (epoch ms) from the Web Adapter's context header, if it has one."""
    if not header:
        return None
    try:
        context: Any = orjson.loads(header)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(context, dict):
        return None
    value = context.get("deadline", context.get("deadline_ms"))
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def deadline_for(
    header: str | None,
    settings: Settings,
    wall_now: float,
    monotonic_now: float,
    remaining_ms: float | None = None,
) -> float:
    """The `time.monotonic()` instant by which this request's answer must be finished.

    The invocation's deadline — from the Web Adapter's header, or `remaining_ms` from the Lambda context
    Mangum hands over — can only bring it closer (a client sending the header itself cannot extend it)."""
    seconds = settings.request_deadline_seconds
    invocation_ms = _invocation_deadline_ms(header)
    if invocation_ms is not None:
        seconds = min(seconds, invocation_ms / 1000 - wall_now - settings.deadline_margin_seconds)
    if remaining_ms is not None:
        seconds = min(seconds, remaining_ms / 1000 - settings.deadline_margin_seconds)
    return monotonic_now + max(seconds, 0.0)


def _remaining_ms(scope: MutableMapping[str, Any]) -> float | None:
    """The invocation's remaining time when Mangum runs the app (buffered mode): `scope["aws.context"]`."""
    remaining = getattr(scope.get("aws.context"), "get_remaining_time_in_millis", None)
    return float(remaining()) if callable(remaining) else None


async def request_deadline(request: Request) -> float:
    settings: Settings = request.app.state.services.settings
    header = request.headers.get(LAMBDA_CONTEXT_HEADER)
    return deadline_for(header, settings, time.time(), time.monotonic(), _remaining_ms(request.scope))


Deadline = Annotated[float, Depends(request_deadline)]
Caller = Annotated[KeyIdentity, Depends(caller)]
ServicesDep = Annotated[Services, Depends(get_services)]
