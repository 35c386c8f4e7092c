"""Errors on the wire, in the envelope of the API that was called — never a stack trace or an HTML page.

OpenAI's `{"error": {"message", "type", "param", "code"}}` everywhere, except under `/v1/messages`, where
Anthropic's `{"type": "error", "error": {"type", "message"}}` is used with Anthropic's types and statuses
(529 `overloaded_error` when Bedrock is unavailable). Exception handlers turn our `GatewayError`s, FastAPI's
validation errors, unknown routes and anything unexpected into the right one.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from pennyworth.errors import (
    GatewayError,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    UpstreamError,
    UpstreamUnavailable,
)
from pennyworth.observability import get_logger

logger = get_logger("api")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def error_body(error: GatewayError) -> dict[str, Any]:
    return {"error": {"message": error.message, "type": error.type, "param": error.param, "code": error.code}}


ANTHROPIC_PREFIX = "/v1/messages"
# Our error classes in Anthropic's vocabulary (most specific first): (class, type, status or None to keep ours).
_ANTHROPIC_TYPES: list[tuple[type[GatewayError], str, int | None]] = [
    (PayloadTooLarge, "request_too_large", 413),
    (InvalidRequest, "invalid_request_error", 400),
    (Unauthenticated, "authentication_error", 401),
    (PermissionDenied, "permission_error", 403),
    (NotFound, "not_found_error", 404),
    (RateLimited, "rate_limit_error", 429),
    (UpstreamUnavailable, "overloaded_error", 529),
    (UpstreamError, "api_error", None),
]


def anthropic_error(error: GatewayError) -> tuple[dict[str, Any], int]:
    """Anthropic's envelope and status for one of our errors."""
    for kind, type_, status in _ANTHROPIC_TYPES:
        if isinstance(error, kind):
            return {
                "type": "error",
                "error": {"type": type_, "message": error.message},
            }, status or error.status
    return {"type": "error", "error": {"type": "api_error", "message": error.message}}, error.status


def error_response(error: GatewayError, anthropic: bool = False) -> Response:
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    body, status = anthropic_error(error) if anthropic else (error_body(error), error.status)
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _is_anthropic(request: Request) -> bool:
    return request.url.path.startswith(ANTHROPIC_PREFIX)


def _envelope(
    status: int, message: str, type_: str, code: str | None, param: str | None = None, *, request: Request
) -> Response:
    if _is_anthropic(request):
        kind = {404: NotFound, 405: InvalidRequest, 500: UpstreamError}.get(status, InvalidRequest)
        body = anthropic_error(kind(message))[0]
    else:
        body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _param_path(loc: tuple[Any, ...], body: Any, missing: bool) -> str:
    """Pydantic's error location → the dotted path of the offending parameter in the body sent, such as
    `messages.0.content`: labels pydantic adds for union branches (`str`, `list[...]`, a tag) are not in the
    body, so they are dropped by following the location through the body itself."""
    parts: list[str] = []
    here = body
    steps = [p for p in loc if p not in ("body", "query", "path", "header")]
    for position, step in enumerate(steps):
        in_body = (isinstance(here, dict) and step in here) or (
            isinstance(here, list) and isinstance(step, int) and 0 <= step < len(here)
        )
        if in_body:
            here = here[step]
        elif not (missing and position == len(steps) - 1):  # not the missing field itself:
            continue  # a union branch's label
        parts.append(str(step))
    return ".".join(parts)


def _most_specific(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """Of the errors pydantic reports (one per union branch tried), the one deepest in the body, and rather one
    about the value than one saying a branch's type did not match."""
    if not errors:
        return {"loc": (), "msg": "invalid request", "type": ""}
    return max(
        errors,
        key=lambda error: (len(error.get("loc", ())), not str(error.get("type", "")).endswith("_type")),
    )


_LOGGABLE_PARAM = re.compile(r"^[A-Za-z0-9_.]{1,120}$")


def note_error(request: Request, code: str | None, param: str | None) -> None:
    """What the request log line says of a refused request: the error code and, when it is a plain field
    path, the parameter (never a value: a body's text must not reach a log)."""
    shown = param if param and _LOGGABLE_PARAM.match(param) else None
    request.state.error = f"{code or 'error'}:{shown}" if shown else (code or "error")


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    errors = list(exc.errors())
    first = _most_specific(errors)
    missing = first.get("type") == "missing"
    param = _param_path(tuple(first.get("loc", ())), exc.body, missing)
    note_error(request, "missing" if missing else "invalid_value", param)
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if missing:
        text = f"Missing required parameter: '{param}'."
    else:
        text = f"Invalid value for '{param}': {message}." if param else f"Invalid request: {message}."
    if _is_anthropic(request) and param:
        text = f"{param}: {message}" if not missing else f"{param}: Field required"
    return _envelope(
        400, text, "invalid_request_error", "invalid_value" if param else None, param or None, request=request
    )


async def _gateway_error(request: Request, exc: GatewayError) -> Response:
    note_error(request, f"bedrock.{exc.upstream}" if exc.upstream else exc.code, exc.param)
    return error_response(exc, anthropic=_is_anthropic(request))


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code == 404:
        message = f"Unknown request URL: {request.method} {request.url.path}."
        return _envelope(404, message, "invalid_request_error", "unknown_url", request=request)
    if exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}."
        return _envelope(405, message, "invalid_request_error", "method_not_allowed", request=request)
    return _envelope(exc.status_code, str(exc.detail), "invalid_request_error", None, request=request)


class UnexpectedErrors:
    """ASGI middleware: anything unexpected becomes a 500 in the API's envelope, and the exception stops here.

    (Starlette's own catch-all re-raises after answering, and uvicorn then drops the keep-alive connection
    without `Connection: close`, failing the client's next request on it.) The exception is logged with its
    traceback; `pennyworth.observability` withholds its message, which may quote the request. When the
    response had already begun there is nothing left to answer: the server closes the connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                return
            anthropic = str(scope.get("path", "")).startswith(ANTHROPIC_PREFIX)
            response = error_response(_INTERNAL, anthropic=anthropic)
            await send({"type": "http.response.start", "status": 500, "headers": response.raw_headers})
            await send({"type": "http.response.body", "body": response.body})


_INTERNAL = GatewayError("The gateway hit an internal error. It has been logged.", code="internal_error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(GatewayError, _gateway_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_middleware(UnexpectedErrors)  # added first: the innermost middleware, just outside the routes
