"""Anthropic Messages on Bedrock: request bodies for InvokeModel, and Claude's answers and stream events back.

Claude on Bedrock speaks Anthropic's own Messages format over InvokeModel, so requests pass through nearly as
sent — thinking blocks and their signatures, cache points and tool blocks stay exact — once cleaned of what
Bedrock refuses: top-level fields it does not know (model, stream, metadata, ...), beta flags it does not
support (Claude Code's own among them: Bedrock answers 400 "invalid beta flag"; a refusal is retried once
without the flags), cache-control TTLs, and server tools (web_search, web_fetch, code_execution: Anthropic runs
them, Bedrock does not; dropped and named by the route, refused when `tool_choice` forces one). Claude Code's
`role: "system"` messages (its environment block, on the 5.x models), which Bedrock refuses inside
`messages`, join the top-level `system` after the blocks already there (a cached system prefix stays cached).
Hand-written: it is a filter over Anthropic's documented shape, not a translation.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import orjson

from pennyworth.errors import GatewayError, InvalidRequest
from pennyworth.llm.types import AnthropicEvent, MessagesCall, Usage
from pennyworth.observability import get_logger

logger = get_logger("anthropic")
BEDROCK_ANTHROPIC_VERSION = "bedrock-2023-05-31"
# Top-level fields Bedrock's Anthropic body accepts (anything else is "extraneous key ... is not permitted").
_BODY_FIELDS = (
    "max_tokens",
    "messages",
    "system",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "tools",
    "tool_choice",
    "thinking",
)


def bedrock_body(
    request: dict[str, Any], betas: Iterable[str], forwardable_betas: frozenset[str]
) -> dict[str, Any]:
    """The InvokeModel body for an Anthropic Messages request."""
    body: dict[str, Any] = {"anthropic_version": BEDROCK_ANTHROPIC_VERSION}
    for field in _BODY_FIELDS:
        if request.get(field) is not None:
            body[field] = request[field]
    dropped = sorted(k for k in request if k not in _BODY_FIELDS and k not in ("model", "stream"))
    if dropped:
        logger.debug("fields Bedrock does not accept were dropped: %s", dropped)
    _lift_system_messages(body)
    body["messages"] = [_bedrock_message(m, i) for i, m in enumerate(body["messages"])]
    if isinstance(body.get("system"), list):
        body["system"] = [_clean_block(b) for b in body["system"]]
    if "tools" in body:
        _refuse_forced_server_tool(body)
        body["tools"] = [_clean_tool(t) for t in body["tools"] if "input_schema" in t]
        if not body["tools"]:
            body.pop("tools")
            body.pop("tool_choice", None)
    forwarded = sorted({b.strip() for b in betas if b.strip() in forwardable_betas})
    if forwarded:
        body["anthropic_beta"] = forwarded
    return body


def server_tools(request: dict[str, Any]) -> list[str]:
    """Names of the request's Anthropic server tools (web_search, web_fetch, code_execution, ...): tools without
    an `input_schema`, which Anthropic runs on its side and Claude on Bedrock does not. They are dropped."""
    tools = request.get("tools") or []
    return [
        str(t.get("name") or t.get("type")) for t in tools if isinstance(t, dict) and "input_schema" not in t
    ]


def _refuse_forced_server_tool(body: dict[str, Any]) -> None:
    choice = body.get("tool_choice") or {}
    if choice.get("type") == "tool" and choice.get("name") in server_tools(body):
        raise InvalidRequest(
            f"tool_choice: '{choice['name']}' is an Anthropic server tool, which Claude on Bedrock does not run.",
            param="tool_choice",
        )


def _lift_system_messages(body: dict[str, Any]) -> None:
    """Move `role: "system"` messages' text into the top-level `system` (Bedrock takes no such role)."""
    lifted: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    for message in body["messages"]:
        if message.get("role") != "system":
            kept.append(message)
            continue
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        lifted.extend(
            {"type": "text", "text": b["text"]} for b in blocks if b.get("type") == "text" and b.get("text")
        )
    if len(kept) == len(body["messages"]):
        return
    if not kept:
        raise InvalidRequest(
            "messages: at least one user or assistant message is required.", param="messages"
        )
    system = body.get("system")
    if isinstance(system, str):
        system = [{"type": "text", "text": system}]
    body["system"] = [*(system or []), *lifted]
    body["messages"] = kept


def _bedrock_message(message: dict[str, Any], index: int) -> dict[str, Any]:
    content = message.get("content")
    if isinstance(content, list):
        for block_index, block in enumerate(content):
            source = block.get("source") if isinstance(block, dict) else None
            if isinstance(source, dict) and source.get("type") == "url":
                raise InvalidRequest(
                    f"messages.{index}.content.{block_index}.source: URL sources are not supported on Bedrock; "
                    "send the data base64-encoded.",
                    param=f"messages.{index}.content.{block_index}.source",
                )
        content = [_clean_block(b) for b in content]
    return {"role": message["role"], "content": content}


def _clean_block(block: Any) -> Any:
    if not isinstance(block, dict) or "cache_control" not in block:
        return block
    kind: str = block["cache_control"].get("type", "ephemeral")
    return {**block, "cache_control": {"type": kind}}


def _clean_tool(tool: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = _clean_block(
        {k: v for k, v in tool.items() if k in ("name", "description", "input_schema", "cache_control")}
    )
    return cleaned


def without_refused_betas(call: MessagesCall, error: GatewayError) -> MessagesCall | None:
    """The call again without its beta flags when Bedrock refused one ("invalid beta flag"), else None.

    Every forwarded flag is one the client added, so dropping them keeps the request valid; which were dropped
    is logged.
    """
    betas = call.body.get("anthropic_beta")
    if not betas or not isinstance(error, InvalidRequest) or "invalid beta flag" not in error.message:
        return None
    logger.warning("Bedrock refused a beta flag for %s; retrying without %s", call.route.name, betas)
    body = {k: v for k, v in call.body.items() if k != "anthropic_beta"}
    return replace(call, body=body)


def anthropic_usage(raw: dict[str, Any] | None, output_tokens: int | None = None) -> Usage:
    raw = raw or {}
    read = int(raw.get("cache_read_input_tokens") or 0)
    write = int(raw.get("cache_creation_input_tokens") or 0)
    return Usage(
        prompt_tokens=int(raw.get("input_tokens") or 0) + read + write,
        completion_tokens=int(output_tokens if output_tokens is not None else raw.get("output_tokens") or 0),
        cache_read_tokens=read,
        cache_write_tokens=write,
    )


def public_message(answer: dict[str, Any], model: str) -> dict[str, Any]:
    """Bedrock's answer as Anthropic's API returns it: the model name the client asked for, no Bedrock extras."""
    cleaned = {k: v for k, v in answer.items() if not k.startswith("amazon-bedrock")}
    cleaned["model"] = model
    return cleaned


class StreamReader:
    """Turns InvokeModelWithResponseStream `chunk` payloads into Anthropic events, tracking usage."""

    __slots__ = ("_input_usage", "_model", "_output_tokens")

    def __init__(self, model: str) -> None:
        self._model = model
        self._input_usage: dict[str, Any] = {}
        self._output_tokens = 0

    def read(self, payload: dict[str, Any]) -> AnthropicEvent:
        raw = base64.b64decode(payload["bytes"])
        event = orjson.loads(raw)
        kind = event.get("type", "")
        if kind == "content_block_delta":
            delta = event.get("delta") or {}
            return AnthropicEvent(
                kind, raw, delta.get("text") or delta.get("partial_json") or delta.get("thinking") or ""
            )
        if kind == "message_start":
            message = event.get("message") or {}
            self._input_usage = message.get("usage") or {}
            message["model"] = self._model
            return AnthropicEvent(kind, orjson.dumps(event))
        if kind == "message_delta":
            self._output_tokens = int((event.get("usage") or {}).get("output_tokens") or self._output_tokens)
        elif kind == "message_stop":
            event = {k: v for k, v in event.items() if not k.startswith("amazon-bedrock")}
            return AnthropicEvent(kind, orjson.dumps(event))
        return AnthropicEvent(kind, raw)

    def usage(self) -> Usage:
        return anthropic_usage(self._input_usage, self._output_tokens)


def request_body(call: MessagesCall) -> bytes:
    return orjson.dumps(call.body)
