"""The OpenAPI document as the gateway behaves: what FastAPI generates, corrected where it says otherwise.

- No 422 anywhere: every validation error is a 400 in the API's envelope (`pennyworth.api.errors`), so the
  `HTTPValidationError` schemas FastAPI adds are dropped with it.
- Routes that stream (`stream: true`) document their 200 as `text/event-stream` too.
- Error bodies are the envelope exactly: every field present, nothing else (see the error models).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

STREAMING_ROUTES = ("/v1/chat/completions", "/v1/responses", "/v1/messages")
_EVENT_STREAM = {  # the schema of one event (OpenAPI 3.1 tools read an event-stream schema per event)
    "schema": {
        "type": "object",
        "description": "Server-sent events (`stream: true`): each event's `data` is one JSON chunk of the API "
        "(or `[DONE]` at the end of a chat stream); `event` names it where the API does (Responses, Messages).",
        "properties": {"event": {"type": "string"}, "data": {"type": "string"}},
        "required": ["data"],
    }
}
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def gateway_openapi(app: FastAPI) -> dict[str, Any]:
    """The document for `app` (built once, then cached on the app as FastAPI does)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        routes=app.routes,
        description=app.description,
    )
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.get("responses", {})
            responses.pop("422", None)
            if path in STREAMING_ROUTES and "200" in responses:
                responses["200"].setdefault("content", {})["text/event-stream"] = _EVENT_STREAM
    schemas = document.get("components", {}).get("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    app.openapi_schema = document
    return document


def install_openapi(app: FastAPI) -> None:
    app.openapi = lambda: gateway_openapi(app)  # type: ignore[method-assign]
