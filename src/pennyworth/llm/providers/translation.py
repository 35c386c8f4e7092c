"""OpenAI-shaped chat and embedding calls → Bedrock request bodies, through LiteLLM's Bedrock configs."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from litellm import AmazonConverseConfig
from litellm.llms.bedrock.common_utils import bedrock_model_supports_regex_lookaround
from litellm.llms.bedrock.embed.amazon_titan_v2_transformation import AmazonTitanV2Config
from litellm.llms.bedrock.embed.cohere_transformation import BedrockCohereEmbeddingConfig

from pennyworth.catalog import ModelRoute
from pennyworth.errors import InvalidRequest
from pennyworth.llm.providers.litellm_setup import clean_message, litellm_errors
from pennyworth.llm.types import ChatCall

_CONVERSE = AmazonConverseConfig()
_TITAN_V2 = AmazonTitanV2Config()
_COHERE = BedrockCohereEmbeddingConfig()
# OpenAI parameters handed to LiteLLM's Converse mapping; `seed` and `user` are accepted and not forwarded.
MAPPED_PARAMS = (
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "reasoning_effort",
)


@dataclass(frozen=True, slots=True)
class ConverseRequest:
    body: dict[str, Any]
    json_mode: bool  # structured output travels as the `json_tool_call` tool; answer it as text


@lru_cache(maxsize=512)
def _model_info_for(model_id: str) -> dict[str, Any]:
    """Per-model facts LiteLLM would otherwise look up in its price map on every request (~1 ms each).

    Handed back to LiteLLM as the deployment's `model_info`, which it consults first.
    """
    return {"supports_regex_lookaround": bedrock_model_supports_regex_lookaround(model_id)}


_REDACTED_MARK = "pennyworth:redacted-thinking"


def _redacted_as_marked(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """LiteLLM turns a `redacted_thinking` block into (empty) text, losing it: carry it through as a thinking
    block under a marker signature, restored to Converse's `redactedContent` by `_restore_redacted`."""

    def carried(block: dict[str, Any]) -> dict[str, Any]:
        if block.get("type") != "redacted_thinking":
            return block
        return {"type": "thinking", "thinking": block.get("data", ""), "signature": _REDACTED_MARK}

    return [
        {**m, "thinking_blocks": [carried(b) for b in m["thinking_blocks"]]}
        if m.get("thinking_blocks")
        else m
        for m in messages
    ]


def _restore_redacted(body: dict[str, Any]) -> None:
    for message in body.get("messages") or []:
        for block in message.get("content") or []:
            text_block = (block.get("reasoningContent") or {}).get("reasoningText") or {}
            if text_block.get("signature") == _REDACTED_MARK:
                block["reasoningContent"] = {"redactedContent": text_block.get("text", "")}


def translate_chat(call: ChatCall) -> ConverseRequest:
    """An OpenAI-shaped chat call → the Bedrock Converse request body."""
    wanted = {name: call.params[name] for name in MAPPED_PARAMS if call.params.get(name) is not None}
    try:
        optional = _CONVERSE.map_openai_params(
            non_default_params=wanted, optional_params={}, model=call.route.model_id, drop_params=False
        )
        transformed = _CONVERSE._transform_request(
            model=call.route.model_id,
            messages=_redacted_as_marked(call.messages),  # type: ignore[arg-type]  # OpenAI-shaped dicts
            optional_params=optional,
            litellm_params={"model_info": _model_info_for(call.route.model_id)},
            headers={},
        )
    except (
        litellm_errors.UnsupportedParamsError,
        litellm_errors.BadRequestError,
        ValueError,
        KeyError,
        TypeError,
    ) as exc:
        raise InvalidRequest(
            f"Cannot send this request to '{call.route.name}': {clean_message(exc)}"
        ) from exc
    body: dict[str, Any] = dict(transformed)
    _restore_redacted(body)
    return ConverseRequest(body=body, json_mode=bool(optional.get("json_mode")))


def warm_up(route: ModelRoute) -> None:
    """Translate one small request at start-up, so LiteLLM's lazily imported parts load at init (and land in a
    SnapStart snapshot) instead of on the first request."""
    with contextlib.suppress(InvalidRequest):
        translate_chat(
            ChatCall(route=route, messages=[{"role": "user", "content": "hi"}], params={"max_tokens": 8})
        )


def translate_embedding(route: ModelRoute, inputs: list[str], dimensions: int | None) -> list[dict[str, Any]]:
    """InvokeModel bodies for an embedding call: one per input for Titan, one batch for Cohere.

    Floats are always requested: OpenAI's `base64` is the same float32 vector, encoded by the API layer
    (LiteLLM would ask Titan for its binary embedding type instead, a different vector).
    """
    model_id = route.model_id
    if "titan-embed" in model_id:
        params = {"dimensions": dimensions} if dimensions else {}
        return [
            dict(_TITAN_V2._transform_request(input=text, inference_params=dict(params))) for text in inputs
        ]
    if "cohere.embed" in model_id:
        if dimensions:
            raise InvalidRequest(
                f"The model '{route.name}' does not support 'dimensions'.", param="dimensions"
            )
        return [dict(_COHERE._transform_request(model=model_id, input=inputs, inference_params={}))]
    raise InvalidRequest(f"The model '{route.name}' is not a supported embedding model.", param="model")
