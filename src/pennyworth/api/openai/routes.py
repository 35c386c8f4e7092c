"""OpenAI-compatible routes: `/v1/chat/completions`, `/v1/embeddings`, `/v1/models`.

Each handler validates the OpenAI shape, resolves the model through the catalog, checks the caller may use
it, hands a provider-neutral call to the LLM service and renders the answer in OpenAI's shape.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from pennyworth.access.references import resolve_chat_media
from pennyworth.api.chat_policy import check_images, prepare, route_for, route_headers
from pennyworth.api.dependencies import Caller, Deadline, ServicesDep
from pennyworth.api.fields import MAX_MODEL_NAME
from pennyworth.api.json_body import StrictJsonRoute
from pennyworth.api.openai.render import ChatChunks, chat_completion, embedding_response
from pennyworth.api.openai.schemas import (
    ChatCompletion,
    ChatCompletionRequest,
    EmbeddingRequest,
    EmbeddingResponse,
    ErrorResponse,
    ModelList,
    ModelObject,
)
from pennyworth.api.sse import EventStreamResponse
from pennyworth.api.truncation import warning_headers
from pennyworth.catalog import ModelRoute
from pennyworth.errors import InvalidRequest, ModelNotFound
from pennyworth.llm.types import ChatCall, EmbeddingCall

router = APIRouter(prefix="/v1", tags=["OpenAI"], route_class=StrictJsonRoute)

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 401, 403, 404, 413, 429, 500, 502, 503, 504)
}
_CATALOG_CREATED = 1_735_689_600  # 2025-01-01: a fixed `created` for catalog entries


def _json(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), media_type="application/json", headers=headers)


def _chat_call(body: ChatCompletionRequest, route: ModelRoute) -> ChatCall:
    messages = []
    for message in body.messages:
        item = message.model_dump(exclude_none=True)
        if item["role"] == "developer":  # Bedrock knows one system role
            item["role"] = "system"
        messages.append(item)
    params = body.model_dump(
        exclude_none=True, by_alias=True, exclude={"model", "messages", "stream", "stream_options", "n"}
    )
    if params.get("tool_choice") == "none":  # Bedrock has no "none": offer no tools instead
        params.pop("tool_choice")
        if not any(m.get("tool_calls") or m["role"] == "tool" for m in messages):
            params.pop("tools", None)
    if params.get("reasoning_effort") == "minimal":
        params["reasoning_effort"] = "low"
    return ChatCall(route=route, messages=messages, params=params)


@router.post(
    "/chat/completions",
    response_model=None,
    responses={
        200: {"model": ChatCompletion, "description": "A completion, or an SSE stream of chunks."},
        **ERROR_RESPONSES,
    },
)
async def chat_completions(
    body: ChatCompletionRequest,
    identity: Caller,
    services: ServicesDep,
    deadline: Deadline,
) -> Response:
    """Create a chat completion (OpenAI's API), streamed with `stream: true`."""
    route = route_for(services, identity, body.model, "chat")
    call = _chat_call(body, route)
    call.deadline = deadline
    check_images(call.messages, services.settings.allow_remote_images)
    call.messages = await resolve_chat_media(services.files, identity.key_id, route, call.messages)
    await prepare(services, identity, call, "chat")
    if not body.stream:
        result = await services.metering.chat(identity, call)
        return _json(
            chat_completion(result, body.model),
            {**route_headers(result.route), **warning_headers(result.warning)},
        )
    stream = await services.metering.open_chat_stream(identity, call)
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    chunks = ChatChunks(model=body.model, include_usage=include_usage)
    keepalive = services.settings.stream_keepalive_seconds
    return EventStreamResponse(stream, chunks, keepalive=keepalive, headers=route_headers(stream.route))


@router.post(
    "/embeddings", response_model=None, responses={200: {"model": EmbeddingResponse}, **ERROR_RESPONSES}
)
async def embeddings(
    body: EmbeddingRequest,
    identity: Caller,
    services: ServicesDep,
) -> Response:
    """Create embeddings (OpenAI's API); `base64` is the little-endian float32 encoding of the same vectors."""
    route = route_for(services, identity, body.model, "embedding")
    if body.dimensions is not None and "dimensions" not in route.capabilities:
        raise InvalidRequest(f"The model '{body.model}' does not support 'dimensions'.", param="dimensions")
    inputs = [body.input] if isinstance(body.input, str) else list(body.input)
    result = await services.metering.embed(
        identity, EmbeddingCall(route=route, inputs=inputs, dimensions=body.dimensions)
    )
    return _json(embedding_response(result, body.model, body.encoding_format))


def _model_object(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": _CATALOG_CREATED, "owned_by": "pennyworth"}


@router.get("/models", response_model=ModelList, responses=ERROR_RESPONSES)
async def list_models(identity: Caller, services: ServicesDep) -> Response:
    """The models this key may use."""
    names = [name for name in services.catalog.public_names() if identity.allows(name)]
    return _json({"object": "list", "data": [_model_object(name) for name in names]})


@router.get("/models/{model_id:path}", response_model=ModelObject, responses=ERROR_RESPONSES)
async def get_model(
    model_id: str,
    identity: Caller,
    services: ServicesDep,
) -> Response:
    """One model of the catalog."""
    if model_id not in services.catalog.public_names() or not identity.allows(model_id):
        raise ModelNotFound(
            f"The model '{model_id[:MAX_MODEL_NAME]}' does not exist or you do not have access to it.",
            param="model",
        )
    return _json(_model_object(model_id))
