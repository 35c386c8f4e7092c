"""Non-Bedrock providers (OpenAI, Azure, ...) through LiteLLM's own client, and LiteLLM's errors → ours.

Imported only through `lazy` (on the first call to such a provider): importing this module imports LiteLLM."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

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
from pennyworth.llm.providers.litellm_setup import clean_message, litellm, litellm_errors
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

# OpenAI parameters handed to LiteLLM; `seed` and `user` are accepted and not forwarded.
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


def _litellm_kwargs(call: ChatCall, api_key: str | None) -> dict[str, Any]:
    params = {k: v for k, v in call.params.items() if k in MAPPED_PARAMS and v is not None}
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
        usage=litellm_usage(getattr(response, "usage", None)),
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
        events.append(UsageReport(litellm_usage(usage)))
    return events


def litellm_usage(usage: Any) -> Usage:
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
    message = clean_message(exc)
    retry_after = getattr(exc, "retry_after", None)
    by_type: list[tuple[type[Exception], type[GatewayError]]] = [
        (litellm_errors.UnsupportedParamsError, InvalidRequest),
        (litellm_errors.ContextWindowExceededError, InvalidRequest),
        (litellm_errors.BadRequestError, InvalidRequest),
        (
            litellm_errors.AuthenticationError,
            UpstreamError,
        ),  # our credentials to the provider, not the client's key
        (litellm_errors.PermissionDeniedError, PermissionDenied),
        (litellm_errors.NotFoundError, NotFound),
        (litellm_errors.RateLimitError, RateLimited),
        (litellm_errors.Timeout, UpstreamTimeout),
        (litellm_errors.ServiceUnavailableError, UpstreamUnavailable),
        (litellm_errors.APIConnectionError, UpstreamUnavailable),
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
