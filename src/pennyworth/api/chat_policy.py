"""Chat policy shared by the OpenAI and Responses routes: which route a key may use, what images are allowed,
what the catalog says the model can do, how large a JSON schema may be — checked before anything reaches a
model — and the call's translation for Bedrock, made here, off the event loop, so that a request refused by
translation is refused before it is admitted (and never enters the ledger as a model request)."""

from __future__ import annotations

import re
from typing import Any, Literal

import anyio

from pennyworth.access.keys import KeyIdentity
from pennyworth.access.metering import chat_output_limit
from pennyworth.api.dependencies import Services
from pennyworth.api.schema_bounds import check_schema
from pennyworth.catalog import ModelRoute
from pennyworth.errors import InvalidRequest, PermissionDenied
from pennyworth.llm.types import ChatCall
from pennyworth.observability import get_logger, note_served_model

logger = get_logger("api")

_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|jpg|gif|webp);base64,")


def route_for(services: Services, identity: KeyIdentity, model: str, kind: str) -> ModelRoute:
    route = services.catalog.resolve(model, kind)  # type: ignore[arg-type]
    if not identity.allows(route.name, in_catalog=not route.raw):
        raise PermissionDenied(f"This API key is not allowed to use the model '{model}'.", param="model")
    note_successor(route)
    return route


def note_successor(route: ModelRoute) -> None:
    """Log a retired model served by its successor, and name the successor in a response header."""
    if route.retired is not None:
        logger.info("retired model %r served by its successor %r", route.retired, route.name)
        note_served_model(route.name)


DROPPED_TOOLS_HEADER = "x-pennyworth-dropped-tools"


def dropped_tools_headers(dropped: list[str]) -> dict[str, str]:
    """The response header naming the tools a request offered that the gateway dropped (none: no header)."""
    return {DROPPED_TOOLS_HEADER: ",".join(dropped)} if dropped else {}


def check_images(messages: list[dict[str, Any]], allow_remote: bool) -> None:
    """Images must be inline `data:` URIs; remote URLs only when the operator allows fetching (SSRF)."""
    for m_index, message in enumerate(messages):
        if message["role"] != "user" or isinstance(message["content"], str):
            continue
        for p_index, part in enumerate(message["content"]):
            if part.get("type") != "image_url":
                continue
            url = part["image_url"]["url"]
            param = f"messages.{m_index}.content.{p_index}.image_url.url"
            if url.startswith(("http://", "https://")):
                if not allow_remote:
                    raise InvalidRequest(
                        "Remote image URLs are not fetched by this gateway. Send the image inline as a "
                        "'data:image/<png|jpeg|gif|webp>;base64,...' URI.",
                        param=param,
                        code="remote_image_url_disabled",
                    )
            elif not _DATA_IMAGE.match(url) and not url.startswith("file-"):  # file ids: resolved later
                raise InvalidRequest(
                    "Images must be 'data:image/<png|jpeg|gif|webp>;base64,...' URIs or uploaded files' ids.",
                    param=param,
                )


def check_capabilities(call: ChatCall) -> None:
    """Refuse what the catalog says the model cannot do (raw ids carry no capability list: Bedrock judges)."""
    if not call.route.capabilities:
        return
    needs = {
        "tools": bool(call.params.get("tools")),
        "reasoning": call.params.get("reasoning_effort") is not None,
        "vision": any(
            m["role"] == "user"
            and not isinstance(m["content"], str)
            and any(p.get("type") == "image_url" for p in m["content"])
            for m in call.messages
        ),
    }
    param = {"tools": "tools", "reasoning": "reasoning_effort", "vision": "messages"}
    for capability, needed in needs.items():
        if needed and capability not in call.route.capabilities:
            raise InvalidRequest(
                f"The model '{call.route.name}' does not support {capability}.", param=param[capability]
            )


ROUTE_HEADER = "x-pennyworth-route"


def route_headers(route: ModelRoute | None) -> dict[str, str]:
    """The header naming the Bedrock id that answered (a fallback's when the asked route was throttled)."""
    return {ROUTE_HEADER: route.model_id} if route is not None else {}


def check_schemas(call: ChatCall, api: Literal["chat", "responses"]) -> None:
    """Bound every JSON schema in the call (function parameters, structured output) before translation."""
    for index, tool in enumerate(call.params.get("tools") or []):
        parameters = tool.get("function", {}).get("parameters")
        if parameters is not None:
            where = "function.parameters" if api == "chat" else "parameters"
            check_schema(parameters, f"tools.{index}.{where}")
    response_format = call.params.get("response_format") or {}
    schema = (response_format.get("json_schema") or {}).get("schema")
    if schema is not None:
        check_schema(schema, "response_format.json_schema.schema" if api == "chat" else "text.format.schema")


async def prepare(
    services: Services, identity: KeyIdentity, call: ChatCall, api: Literal["chat", "responses"]
) -> ChatCall:
    """Check the call and translate it for Bedrock in a worker thread (its CPU never blocks the event loop);
    every refusal happens here, before admission. Made with the key's choice about automatic cache points, as
    metering will make the call."""
    check_capabilities(call)
    call.auto_cache_points = identity.auto_cache_points
    check_schemas(call, api)
    chat_output_limit(identity, call)  # the key's max_tokens cap, so the body is not rebuilt after admission
    await anyio.to_thread.run_sync(services.metering.llm.prepare_chat, call)
    return call
