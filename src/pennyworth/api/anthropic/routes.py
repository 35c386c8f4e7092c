"""Anthropic's Messages API: `POST /v1/messages` (whole or streamed) and `POST /v1/messages/count_tokens`.

What Claude Code calls (`?beta=true` included). Claude model names resolve through the catalog; a `claude-*`
name the catalog does not know falls back to the operator's model for its family (opus, sonnet, haiku) or the
default, and the fallback is logged. `anthropic-beta` flags the model takes on Bedrock (the catalog's `betas`,
else the setting) are forwarded, the rest dropped. Anthropic's server tools (web_search, web_fetch,
code_execution) are dropped — Bedrock does not run them — and named in `x-pennyworth-dropped-tools`.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from pennyworth.access.keys import KeyIdentity
from pennyworth.access.references import resolve_anthropic_files
from pennyworth.api.anthropic.render import MessageEvents
from pennyworth.api.anthropic.schemas import (
    AnthropicError,
    CountTokensRequest,
    Message,
    MessagesRequest,
    TokenCount,
)
from pennyworth.api.chat_policy import dropped_tools_headers, note_successor, route_headers
from pennyworth.api.dependencies import Caller, Deadline, Services, ServicesDep
from pennyworth.api.json_body import StrictJsonRoute
from pennyworth.api.sse import EventStreamResponse
from pennyworth.api.truncation import warning_headers
from pennyworth.catalog import ModelRoute
from pennyworth.errors import InvalidRequest, PermissionDenied
from pennyworth.llm.bedrock.anthropic import bedrock_body, server_tools
from pennyworth.llm.types import MessagesCall
from pennyworth.observability import get_logger

logger = get_logger("api")
router = APIRouter(prefix="/v1", tags=["Anthropic"], route_class=StrictJsonRoute)
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": AnthropicError} for status in (400, 401, 403, 404, 413, 429, 500, 502, 503, 504, 529)
}


def claude_route(services: Services, identity: KeyIdentity, model: str) -> ModelRoute:
    """The catalog route for a Claude model name, falling back by family; 400 for non-Claude routes."""
    settings = services.settings
    families = {
        "opus": settings.anthropic_opus_model,
        "sonnet": settings.anthropic_sonnet_model,
        "haiku": settings.anthropic_haiku_model,
    }
    route, fallback = services.catalog.resolve_claude(model, families, settings.anthropic_default_model)
    if fallback:
        logger.info("unknown Claude model %r served by %r", model, route.name)
    if route.provider != "bedrock" or "anthropic." not in route.model_id:
        raise InvalidRequest(f"The Messages API serves Claude models on Bedrock; '{model}' is not one.")
    if not identity.allows(route.name, in_catalog=not route.raw):
        raise PermissionDenied(f"This API key is not allowed to use the model '{model}'.")
    note_successor(route)
    return route


def _dropped_tools_header(body: CountTokensRequest) -> dict[str, str]:
    """`x-pennyworth-dropped-tools` naming the server tools Bedrock does not run (also logged), if any."""
    dropped = server_tools({"tools": body.tools})
    if dropped:
        logger.info("Anthropic server tools dropped (Bedrock does not run them): %s", dropped)
    return dropped_tools_headers(dropped)


def _betas_of(services: Services, route: ModelRoute) -> frozenset[str]:
    return route.betas if route.betas is not None else frozenset(services.settings.anthropic_betas)


def _call(
    services: Services, identity: KeyIdentity, body: CountTokensRequest, request: Request
) -> MessagesCall:
    route = claude_route(services, identity, body.model)
    betas = request.headers.get("anthropic-beta", "").split(",")
    raw = body.model_dump(exclude_none=True)
    return MessagesCall(
        route=route,
        body=bedrock_body(raw, betas, _betas_of(services, route)),
        requested_model=body.model,
    )


@router.post(
    "/messages",
    response_model=None,
    responses={200: {"model": Message, "description": "A message, or SSE events."}, **_ERRORS},
)
async def create_message(
    body: MessagesRequest, request: Request, identity: Caller, services: ServicesDep, deadline: Deadline
) -> Response:
    """Create a message (Anthropic's API); `stream: true` for Anthropic's server-sent events."""
    call = _call(services, identity, body, request)
    dropped = _dropped_tools_header(body)
    call.deadline = deadline
    await resolve_anthropic_files(services.files, identity.key_id, call.body)
    if not body.stream:
        answer, served, truncated = await services.metering.messages(identity, call)
        headers = {**dropped, **route_headers(served), **warning_headers(truncated)}
        return Response(orjson.dumps(answer), media_type="application/json", headers=headers)
    stream = await services.metering.open_messages_stream(identity, call)
    keepalive = services.settings.stream_keepalive_seconds
    headers = {**dropped, **route_headers(stream.route)}
    return EventStreamResponse(stream, MessageEvents(body.model), keepalive=keepalive, headers=headers)


@router.post("/messages/count_tokens", response_model=TokenCount, responses=_ERRORS)
async def count_tokens(
    body: CountTokensRequest, request: Request, identity: Caller, services: ServicesDep
) -> Response:
    """Count a request's input tokens: Bedrock's CountTokens where the model has it, else an estimate."""
    call = _call(services, identity, body, request)
    await resolve_anthropic_files(services.files, identity.key_id, call.body)
    call.body.setdefault("max_tokens", 1)  # InvokeModel bodies need one; it does not change the count
    counted = await services.metering.count_tokens(identity, call)
    return Response(
        orjson.dumps({"input_tokens": counted}),
        media_type="application/json",
        headers=_dropped_tools_header(body),
    )
