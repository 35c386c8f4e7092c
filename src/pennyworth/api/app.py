"""The FastAPI application: routes, error envelopes, the body-size limit, and service wiring.

`create_app()` builds the same app for uvicorn (`pennyworth serve`, the Lambda Web Adapter) and for Mangum
(`pennyworth.runtime.lambda_handler`). Heavy work — imports, the catalog, the price map, one
translation — happens here, at init; LiteLLM is not imported unless a route needs another provider.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from pennyworth import __version__
from pennyworth.access.auth import KeyAuthenticator
from pennyworth.access.files import FileStore
from pennyworth.access.keys import KeyReader
from pennyworth.access.limits import Limiter
from pennyworth.access.metering import Metering
from pennyworth.access.usage import UsageLedger
from pennyworth.api import health
from pennyworth.api.anthropic import routes as anthropic_routes
from pennyworth.api.dependencies import Services
from pennyworth.api.errors import ANTHROPIC_PREFIX, error_response, install_error_handlers
from pennyworth.api.files import routes as files_routes
from pennyworth.api.openai import routes as openai_routes
from pennyworth.api.openapi import install_openapi
from pennyworth.api.responses import routes as responses_routes
from pennyworth.aws.dynamodb import DynamoHttp
from pennyworth.aws.s3 import Bucket
from pennyworth.catalog import load_catalog
from pennyworth.errors import PayloadTooLarge
from pennyworth.llm.providers.prices import bedrock_model_kind
from pennyworth.llm.service import LLMService, warm_up
from pennyworth.observability import RequestLog, install_log_redaction
from pennyworth.runtime import snapstart
from pennyworth.settings import Settings, get_settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodySizeLimit:
    """Refuse request bodies over `limit` bytes with a 413: by Content-Length, or by counting a chunked body.

    Kept over Starlette 1.10's `max_body_size` (which also counts streamed bytes): Starlette answers in plain
    text wherever the app responds before reading the body; this answers in the API's own envelope always.
    """

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], limit: int) -> None:
        self.app = app
        self.limit = limit

    def _error(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"Request body is larger than the gateway's limit of {self.limit} bytes.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        anthropic = scope.get("path", "").startswith(ANTHROPIC_PREFIX)
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _send_error(send, self._error(), anthropic)
            return
        if declared is None:  # chunked: read it here, counting, and replay it to the app
            body = await _read_body(receive, self.limit)
            if body is None:
                await _send_error(send, self._error(), anthropic)
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None as soon as it exceeds `limit` bytes."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _send_error(send: Send, error: PayloadTooLarge, anthropic: bool) -> None:
    response = error_response(error, anthropic=anthropic)
    await send(
        {"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers}
    )
    await send({"type": "http.response.body", "body": response.body})


def build_services(settings: Settings) -> Services:
    """Wire the services: one DynamoDB client (async, created once, with the control plane's deadline) behind
    keys, limits and usage; the LLM service behind metering."""
    dynamo = DynamoHttp(settings)
    name = settings.table_name
    return Services(
        settings=settings,
        catalog=load_catalog(settings, raw_id_lookup=bedrock_model_kind),
        authenticator=KeyAuthenticator(KeyReader(dynamo, name), settings.key_cache_seconds),
        metering=Metering(
            LLMService(settings),
            Limiter(dynamo, name, settings.lease_seconds),
            UsageLedger(None, dynamo, table_name=name, emit_metrics=settings.emit_metrics),
            emit_metrics=settings.emit_metrics,
            whole_call_seconds=settings.upstream_timeout_seconds + settings.upstream_connect_timeout_seconds,
        ),
        files=FileStore(Bucket(settings, settings.inputs_bucket), settings)
        if settings.inputs_bucket
        else None,
    )


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    settings = settings or get_settings()
    install_log_redaction()
    wired = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await wired.metering.aclose()

    app = FastAPI(
        title="pennyworth",
        version=__version__,
        summary="OpenAI-compatible gateway to Amazon Bedrock.",
        lifespan=lifespan,
    )
    app.state.services = wired
    install_error_handlers(app)
    install_openapi(app)
    app.include_router(health.router)
    app.include_router(snapstart.router)  # the Web Adapter's after-restore hook (loopback only)
    app.include_router(openai_routes.router)
    app.include_router(anthropic_routes.router)
    app.include_router(responses_routes.router)
    app.include_router(files_routes.router)
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    app.add_middleware(RequestLog)
    snapstart.register_restore_hooks(wired)
    warm_up(wired.catalog.resolve(settings.default_chat_model))
    return app
