"""OpenAI's Responses API: `POST /v1/responses` (whole or streamed) — what Codex CLI speaks.

A Responses request becomes the same provider-neutral chat call as `/v1/chat/completions`, so keys, model
allow-lists, limits, budgets and the usage ledger are the chat route's; only the shapes differ.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from pennyworth.access.references import resolve_chat_media
from pennyworth.api.chat_policy import (
    check_images,
    dropped_tools_headers,
    prepare,
    route_for,
    route_headers,
)
from pennyworth.api.dependencies import Caller, Deadline, ServicesDep
from pennyworth.api.json_body import StrictJsonRoute
from pennyworth.api.openai.routes import ERROR_RESPONSES
from pennyworth.api.responses.render import ResponseEvents, whole_response
from pennyworth.api.responses.schemas import ResponsesRequest, chat_messages, chat_params
from pennyworth.api.responses.tools import dropped_tools
from pennyworth.api.sse import EventStreamResponse
from pennyworth.api.truncation import warning_headers
from pennyworth.llm.types import ChatCall

router = APIRouter(prefix="/v1", tags=["OpenAI Responses"], route_class=StrictJsonRoute)
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "A response object, or its server-sent events."},
    **ERROR_RESPONSES,
}


@router.post("/responses", response_model=None, responses=_RESPONSES)
async def create_response(
    body: ResponsesRequest, identity: Caller, services: ServicesDep, deadline: Deadline
) -> Response:
    """Create a model response (OpenAI's Responses API); `stream: true` for its server-sent events."""
    route = route_for(services, identity, body.model, "chat")
    headers = dropped_tools_headers(dropped_tools([tool.model_dump() for tool in body.tools or []]))
    messages = chat_messages(body)
    check_images(messages, services.settings.allow_remote_images)
    call = ChatCall(route=route, messages=messages, params=chat_params(body), deadline=deadline)
    call.messages = await resolve_chat_media(services.files, identity.key_id, route, call.messages)
    call = await prepare(services, identity, call, "responses")
    if not body.stream:
        result = await services.metering.chat(identity, call)
        answer = orjson.dumps(whole_response(body, result))
        headers = {**headers, **route_headers(result.route), **warning_headers(result.warning)}
        return Response(answer, media_type="application/json", headers=headers)
    stream = await services.metering.open_chat_stream(identity, call)
    keepalive = services.settings.stream_keepalive_seconds
    headers = {**headers, **route_headers(stream.route)}
    return EventStreamResponse(stream, ResponseEvents(body), keepalive=keepalive, headers=headers)
