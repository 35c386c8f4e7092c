"""The LiteLLM boundary: the only module that imports litellm.

LiteLLM does what it is good at here — translating OpenAI-shaped requests into Bedrock Converse and embedding
bodies, knowing model ids and prices, and reaching non-Bedrock providers — and its exceptions are mapped to
ours. The Bedrock wire (signing, streaming) lives in `pennyworth.llm.bedrock`; reading Converse output lives
in `pennyworth.llm.converse`, off LiteLLM's slow per-chunk path.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# Import-time network access is forbidden: use the price map bundled with the pinned release. And LiteLLM's
# default "DEV" mode loads a `.env` file from the working directory into the process environment: not here.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["LITELLM_MODE"] = "PRODUCTION"

import contextlib

import litellm
from litellm import AmazonConverseConfig
from litellm.llms.bedrock.common_utils import bedrock_model_supports_regex_lookaround
from litellm.llms.bedrock.embed.amazon_titan_v2_transformation import AmazonTitanV2Config
from litellm.llms.bedrock.embed.cohere_transformation import BedrockCohereEmbeddingConfig

from pennyworth.catalog import ModelKind, ModelRoute
from pennyworth.errors import (
    GatewayError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from pennyworth.llm.types import (
    ChatCall,
    ChatResult,
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallStart,
    Usage,
    UsageReport,
)

litellm.telemetry = False
litellm.suppress_debug_info = True

_CONVERSE = AmazonConverseConfig()
_TITAN_V2 = AmazonTitanV2Config()
_COHERE = BedrockCohereEmbeddingConfig()
# OpenAI parameters handed to LiteLLM's Converse mapping; `seed` and `user` are accepted and not forwarded.
_MAPPED_PARAMS = (
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
_EXCEPTION_PREFIX = re.compile(r"^(litellm\.)?\w+(Error|Exception):\s*")


@dataclass(frozen=True, slots=True)
class ConverseRequest:
    body: dict[str, Any]
    json_mode: bool  # structured output travels as the `json_tool_call` tool; answer it as text


# --- the price map ------------------------------------------------------------------------------------------


def bedrock_model_kind(model_id: str) -> ModelKind | None:
    """The kind LiteLLM's price map records for a Bedrock model id, or None when the map does not know it."""
    entry = litellm.model_cost.get(model_id)
    if not entry or not str(entry.get("litellm_provider", "")).startswith("bedrock"):
        return None
    mode = entry.get("mode")
    return mode if mode in ("chat", "embedding") else None


def known_bedrock_ids() -> frozenset[str]:
    """Every Bedrock id in the pinned price map (for checking the catalog against it)."""
    return frozenset(k for k in litellm.model_cost if bedrock_model_kind(k) is not None)


def cost_usd(route: ModelRoute, usage: Usage) -> float:
    """What `usage` costs on `route`: a price in models.yaml wins over LiteLLM's map; 0.0 when unpriced."""
    if route.input_cost_per_token is not None or route.output_cost_per_token is not None:
        return usage.prompt_tokens * (route.input_cost_per_token or 0.0) + usage.completion_tokens * (
            route.output_cost_per_token or 0.0
        )
    try:
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=route.model_id,
            custom_llm_provider=route.provider,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cache_read_input_tokens=usage.cache_read_tokens,
            cache_creation_input_tokens=usage.cache_write_tokens,
        )
    except Exception:  # an unpriced model must never fail a request
        return 0.0
    return float(prompt_cost + completion_cost)


def estimate_prompt_tokens(route: ModelRoute, messages: list[dict[str, Any]]) -> int:
    """A pre-call estimate of the prompt's tokens (LiteLLM's tokenizer for the model, else its default)."""
    try:
        return int(litellm.token_counter(model=route.model_id, messages=messages))
    except Exception:
        return sum(len(str(m.get("content") or "")) for m in messages) // 4 + 1


def count_text_tokens(route: ModelRoute, text: str) -> int:
    """Tokens in `text` by the model's tokenizer (an estimate, for streams cut off before Bedrock's usage)."""
    if not text:
        return 0
    try:
        return int(litellm.token_counter(model=route.model_id, text=text))
    except Exception:
        return len(text) // 4 + 1


# --- request translation ------------------------------------------------------------------------------------


def _clean_message(exc: Exception) -> str:
    """LiteLLM's message without its class prefix and without advice about LiteLLM's own settings."""
    text = _EXCEPTION_PREFIX.sub("", str(exc)).strip()
    kept = []
    for sentence in re.split(r"(?<=\.)\s+", text):
        if "drop_params" in sentence:
            head = sentence.split(", or set")[0] if ", or set" in sentence else ""
            if head:
                kept.append(head.rstrip(".") + ".")
            continue
        kept.append(sentence)
    return " ".join(kept) or type(exc).__name__


@lru_cache(maxsize=512)
def _model_info_for(model_id: str) -> dict[str, Any]:
    """Per-model facts LiteLLM would otherwise look up in its price map on every request (~1 ms each).

    Handed back to LiteLLM as the deployment's `model_info`, which it consults first.
    """
    return {"supports_regex_lookaround": bedrock_model_supports_regex_lookaround(model_id)}


def translate_chat(call: ChatCall) -> ConverseRequest:
    """An OpenAI-shaped chat call → the Bedrock Converse request body."""
    wanted = {name: call.params[name] for name in _MAPPED_PARAMS if call.params.get(name) is not None}
    try:
        optional = _CONVERSE.map_openai_params(
            non_default_params=wanted, optional_params={}, model=call.route.model_id, drop_params=False
        )
        body = _CONVERSE._transform_request(
            model=call.route.model_id,
            messages=call.messages,
            optional_params=optional,
            litellm_params={"model_info": _model_info_for(call.route.model_id)},
            headers={},
        )
    except (litellm.UnsupportedParamsError, litellm.BadRequestError, ValueError, KeyError, TypeError) as exc:
        raise InvalidRequest(
            f"Cannot send this request to '{call.route.name}': {_clean_message(exc)}"
        ) from exc
    return ConverseRequest(body=dict(body), json_mode=bool(optional.get("json_mode")))


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


# --- non-Bedrock providers (OpenAI, Azure, ...) through LiteLLM's own client ---------------------------------


def _litellm_kwargs(call: ChatCall, api_key: str | None) -> dict[str, Any]:
    params = {k: v for k, v in call.params.items() if k in _MAPPED_PARAMS and v is not None}
    return {
        "model": f"{call.route.provider}/{call.route.model_id}",
        "messages": call.messages,
        "api_key": api_key,
        "api_base": call.route.api_base,
        **params,
    }


async def complete_via_litellm(call: ChatCall, api_key: str | None) -> ChatResult:
    """A whole answer from a non-Bedrock provider."""
    try:
        response = await litellm.acompletion(**_litellm_kwargs(call, api_key))
    except Exception as exc:
        raise map_litellm_error(exc) from exc
    choice = response.choices[0]
    message = choice.message
    calls = [
        ToolCall(id=tc.id, name=tc.function.name, arguments=tc.function.arguments or "")
        for tc in (message.tool_calls or [])
    ]
    return ChatResult(
        text=message.content or "",
        reasoning=getattr(message, "reasoning_content", None),
        reasoning_signature=None,
        tool_calls=calls,
        stop_reason=_STOP_FROM_OPENAI.get(choice.finish_reason or "stop", "end_turn"),
        usage=_usage_from_litellm(getattr(response, "usage", None)),
    )


async def stream_via_litellm(call: ChatCall, api_key: str | None) -> AsyncIterator[StreamEvent]:
    """A streamed answer from a non-Bedrock provider, as our stream events."""
    try:
        stream = await litellm.acompletion(
            **_litellm_kwargs(call, api_key), stream=True, stream_options={"include_usage": True}
        )
    except Exception as exc:
        raise map_litellm_error(exc) from exc
    started: set[int] = set()
    try:
        async for chunk in stream:
            for event in _events_from_litellm_chunk(chunk, started):
                yield event
    except GatewayError:
        raise
    except Exception as exc:
        raise map_litellm_error(exc) from exc


_STOP_FROM_OPENAI = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "content_filter",
}


def _events_from_litellm_chunk(chunk: Any, started: set[int]) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    for choice in chunk.choices or []:
        delta = choice.delta
        if getattr(delta, "reasoning_content", None):
            events.append(ReasoningDelta(text=delta.reasoning_content))
        if delta.content:
            events.append(TextDelta(delta.content))
        for tc in delta.tool_calls or []:
            if tc.index not in started:
                started.add(tc.index)
                events.append(ToolCallStart(index=tc.index, id=tc.id or "", name=tc.function.name or ""))
            if tc.function.arguments:
                events.append(ToolCallDelta(index=tc.index, arguments=tc.function.arguments))
        if choice.finish_reason:
            events.append(Finish(_STOP_FROM_OPENAI.get(choice.finish_reason, "end_turn")))
    usage = getattr(chunk, "usage", None)
    if usage:
        events.append(UsageReport(_usage_from_litellm(usage)))
    return events


def _usage_from_litellm(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    details = getattr(usage, "prompt_tokens_details", None)
    return Usage(
        prompt_tokens=int(usage.prompt_tokens or 0),
        completion_tokens=int(usage.completion_tokens or 0),
        cache_read_tokens=int(getattr(details, "cached_tokens", 0) or 0),
    )


def map_litellm_error(exc: Exception) -> GatewayError:
    """A LiteLLM exception → our error, keeping the provider's message but not LiteLLM's boilerplate."""
    message = _clean_message(exc)
    retry_after = getattr(exc, "retry_after", None)
    by_type: list[tuple[type[Exception], type[GatewayError]]] = [
        (litellm.UnsupportedParamsError, InvalidRequest),
        (litellm.ContextWindowExceededError, InvalidRequest),
        (litellm.BadRequestError, InvalidRequest),
        (litellm.AuthenticationError, UpstreamError),  # our credentials to the provider, not the client's key
        (litellm.PermissionDeniedError, PermissionDenied),
        (litellm.NotFoundError, NotFound),
        (litellm.RateLimitError, RateLimited),
        (litellm.Timeout, UpstreamTimeout),
        (litellm.ServiceUnavailableError, UpstreamUnavailable),
        (litellm.APIConnectionError, UpstreamUnavailable),
    ]
    for litellm_type, ours in by_type:
        if isinstance(exc, litellm_type):
            error = ours(message)
            if isinstance(error, RateLimited):
                error.retry_after = int(retry_after) if isinstance(retry_after, int | float) else 2
            return error
    if isinstance(exc, Unauthenticated):
        return exc
    return UpstreamError(message)
