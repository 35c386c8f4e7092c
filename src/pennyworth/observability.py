"""Logs and metrics: the one owner of logging, one JSON line per request, EMF metrics per model call.

Entry points (`runtime/asgi.py`, `runtime/lambda_handler.py`, `pennyworth serve`, the CLI) call
`configure_logging` once, before the app is built; every module asks `get_logger` for its logger. The
`pennyworth` logger writes JSON lines (Powertools' formatter) to stdout and does not propagate, so a line is
never printed twice whatever else configured the root logger.

No log line carries request content, whatever the path that logged it: `install_log_redaction` (called when
the app is built) makes every log record withhold the text of the exception it carries (pydantic's
`input_value=...`, an upstream message quoting the prompt) — its type, chain and traceback stay — and bounds
each argument's length. Network errors (`OSError`) keep their text: it names hosts and errnos only.

The request line carries the correlation id (API Gateway's request id, which the Lambda Web Adapter forwards in
`x-amzn-request-context`), the caller's source IP (from the same context, else the peer), method, path, status,
latency, the caller's key id and the model served in place of a retired one (also sent as
`x-pennyworth-served-model`) — never a key, never prompt or completion text. Model calls emit CloudWatch EMF
metrics under the `pennyworth` namespace, by model: Requests, InputTokens, OutputTokens, CachedTokens,
CacheWriteTokens, CostUSD, UpstreamErrors, CallLatency; and BedrockRetries / BedrockFailovers when
throttling was absorbed; a ledger write that could not be made emits `LedgerWriteFailures` (dimension
`service=pennyworth`), which the stack alarms on.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import Any, Protocol

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

NAMESPACE = "pennyworth"
_ROOT = "pennyworth"


class _JsonLines(logging.StreamHandler):  # type: ignore[type-arg]
    """The gateway's one log handler: JSON lines on stdout (CloudWatch reads them as structured logs)."""


def configure_logging(level: str) -> None:
    """Configure the `pennyworth` logger once per process (later calls only change the level)."""
    root = logging.getLogger(_ROOT)
    root.setLevel(level.upper())
    if any(isinstance(handler, _JsonLines) for handler in root.handlers):
        return
    handler = _JsonLines(sys.stdout)
    handler.setFormatter(LambdaPowertoolsFormatter(service=_ROOT))
    root.addHandler(handler)
    root.propagate = False


def get_logger(name: str) -> logging.Logger:
    """The logger for one part of the gateway (`api`, `access.usage`, ...), under the `pennyworth` logger."""
    return logging.getLogger(f"{_ROOT}.{name}")


_request_logger = get_logger("request")


SERVED_MODEL_HEADER = b"x-pennyworth-served-model"
# Set by a route that serves a model other than the one asked for (a retired model's successor).
_served_model: ContextVar[str | None] = ContextVar("served_model", default=None)


def note_served_model(name: str) -> None:
    """Tell the client (a response header) and the request log which model answered this request."""
    _served_model.set(name)


MAX_LOG_ARG_CHARS = 1000
_KEEPS_ITS_TEXT = (OSError,)


class WithheldException(Exception):
    """Stands in, in a log record, for an exception whose text may quote the request."""


def _chain(exc: BaseException) -> str:
    names = [f"{type(exc).__module__}.{type(exc).__qualname__}"]
    cause = exc.__cause__ or exc.__context__
    while cause is not None and len(names) < 5:
        names.append(type(cause).__qualname__)
        cause = cause.__cause__ or cause.__context__
    return " <- ".join(names)


def _withheld(exc: BaseException) -> BaseException:
    if isinstance(exc, (*_KEEPS_ITS_TEXT, WithheldException)) and exc.__cause__ is None:
        return exc
    stand_in = WithheldException(f"{_chain(exc)} (message withheld: it may quote the request)")
    return stand_in.with_traceback(exc.__traceback__)


def _bounded(value: Any) -> Any:
    if isinstance(value, BaseException):
        return type(value).__qualname__
    if isinstance(value, str) and len(value) > MAX_LOG_ARG_CHARS:
        return f"{value[:MAX_LOG_ARG_CHARS]}... ({len(value)} characters)"
    return value


def redact(record: logging.LogRecord) -> logging.LogRecord:
    """The record with its exception's text withheld and its arguments bounded."""
    if record.exc_info and record.exc_info[1] is not None:
        stand_in = _withheld(record.exc_info[1])
        record.exc_info = (type(stand_in), stand_in, stand_in.__traceback__)
        record.exc_text = None
    if isinstance(record.args, tuple):
        record.args = tuple(_bounded(arg) for arg in record.args)
    elif isinstance(record.args, dict):
        record.args = {key: _bounded(arg) for key, arg in record.args.items()}
    return record


def install_log_redaction() -> None:
    """Make every log record in the process pass through `redact` (idempotent)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "redacts", False):
        return

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact(factory(*args, **kwargs))

    redacting_factory.redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)


class TokenCounts(Protocol):
    """What a call's metrics read of its usage (`pennyworth.llm.types.Usage` has these)."""

    prompt_tokens: int
    completion_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]


def emit_call_metrics(
    model: str, usage: TokenCounts | None, cost_usd: float, latency_ms: float, error: bool
) -> None:
    """One EMF document for one model call (isolated per call: concurrent requests never mix dimensions)."""
    metrics = EphemeralMetrics(namespace=NAMESPACE, service="pennyworth")
    metrics.add_dimension(name="model", value=model)
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="UpstreamErrors", unit=MetricUnit.Count, value=1 if error else 0)
    metrics.add_metric(name="CallLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
    if usage is not None:
        metrics.add_metric(name="InputTokens", unit=MetricUnit.Count, value=usage.prompt_tokens)
        metrics.add_metric(name="OutputTokens", unit=MetricUnit.Count, value=usage.completion_tokens)
        metrics.add_metric(name="CachedTokens", unit=MetricUnit.Count, value=usage.cache_read_tokens)
        metrics.add_metric(name="CacheWriteTokens", unit=MetricUnit.Count, value=usage.cache_write_tokens)
    metrics.add_metric(name="CostUSD", unit=MetricUnit.NoUnit, value=cost_usd)
    metrics.flush_metrics()


def gateway_context(headers: dict[bytes, bytes]) -> dict[str, Any]:
    """API Gateway's request context as the Web Adapter forwards it (`x-amzn-request-context`), or {}."""
    try:
        context = json.loads(headers.get(b"x-amzn-request-context") or b"{}")
    except ValueError:
        return {}
    return context if isinstance(context, dict) else {}


def emit_failover_metrics(model: str, retries: int, failovers: int) -> None:
    """Retries and failovers that absorbed Bedrock's throttling on one call, by the model asked for."""
    metrics = EphemeralMetrics(namespace=NAMESPACE, service="pennyworth")
    metrics.add_dimension(name="model", value=model)
    metrics.add_metric(name="BedrockRetries", unit=MetricUnit.Count, value=retries)
    metrics.add_metric(name="BedrockFailovers", unit=MetricUnit.Count, value=failovers)
    metrics.flush_metrics()


def emit_ledger_write_failure() -> None:
    """One EMF document counting a usage record that could not be written (its figures are in the ERROR log)."""
    metrics = EphemeralMetrics(namespace=NAMESPACE, service="pennyworth")
    metrics.add_metric(name="LedgerWriteFailures", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()


def correlation_id(headers: dict[bytes, bytes]) -> str:
    """API Gateway's request id when the Web Adapter forwarded it, else a header's, else a fresh one."""
    request_id = gateway_context(headers).get("requestId")
    if request_id:
        return str(request_id)
    for name in (b"x-amzn-requestid", b"x-request-id"):
        if headers.get(name):
            return headers[name].decode(errors="replace")[:128]
    return uuid.uuid4().hex


def source_ip(headers: dict[bytes, bytes], client: Any) -> str | None:
    """The caller's address as API Gateway saw it (`identity.sourceIp`), else the connection's peer."""
    identity = gateway_context(headers).get("identity")
    if isinstance(identity, dict) and identity.get("sourceIp"):
        return str(identity["sourceIp"])[:64]
    return str(client[0]) if client else None


class RequestLog:
    """ASGI middleware: one structured line per HTTP request, and `x-request-id` on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        request_id = correlation_id(headers)
        started = time.perf_counter()
        status = 500
        served = _served_model.set(None)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = [(b"x-request-id", request_id.encode())]
                if _served_model.get():
                    extra.append((SERVED_MODEL_HEADER, str(_served_model.get()).encode()))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            identity = (scope.get("state") or {}).get("identity")
            _request_logger.info(
                "request",
                extra={
                    "correlation_id": request_id,
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                    "key_id": getattr(identity, "key_id", None),
                    "served_model": _served_model.get(),
                    "error": (scope.get("state") or {}).get("error"),
                    "source_ip": source_ip(headers, scope.get("client")),
                },
            )
            _served_model.reset(served)
