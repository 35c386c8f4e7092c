"""Our translation over real HTTP: OpenAI SDK → gateway → Bedrock double, for the tool-choice rules the double
enforces and the cache_control marks that reach Bedrock only through our translation (replayed thinking is
covered by test_reasoning_tools_e2e, against the double's signed thinking)."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import orjson
import pytest

from pennyworth.catalog import load_catalog
from pennyworth.errors import InvalidRequest
from pennyworth.llm.bedrock.wire import BedrockRuntime
from pennyworth.llm.types import ChatCall
from pennyworth.settings import Settings
from tests.support.litellm_oracle import litellm_converse

TOOL = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
}


def last_converse_body(double: Any) -> dict[str, Any]:
    return next(body for op, _, body in reversed(double.requests) if op.startswith("converse"))


def test_the_double_refuses_what_litellm_sent_for_forced_tools_with_adaptive_thinking(
    make_settings: Any,
) -> None:
    """The bug LiteLLM's translation had: adaptive thinking with a forced tool choice, which Claude refuses."""
    settings: Settings = make_settings()
    route = load_catalog(settings).resolve("claude-haiku-5-5", "chat")
    call = ChatCall(
        route,
        [{"role": "user", "content": "time?"}],
        {"reasoning_effort": "low", "tools": [TOOL], "tool_choice": "required"},
    )
    body = litellm_converse(call).body
    assert body is not None and body["toolConfig"]["toolChoice"] == {"any": {}}

    async def send() -> None:
        runtime = BedrockRuntime(settings)
        try:
            await runtime.converse(route.model_id, orjson.dumps(body))
        finally:
            await runtime.aclose()

    with pytest.raises(InvalidRequest, match="forces tool use"):
        asyncio.run(send())


def test_forced_tool_choice_with_reasoning_lets_the_model_choose(client: openai.OpenAI, double: Any) -> None:
    reply = client.chat.completions.create(
        model="claude-haiku-5-5",
        messages=[{"role": "user", "content": "time?"}],
        tools=[TOOL],  # type: ignore[list-item]
        tool_choice="required",
        reasoning_effort="low",
    )
    assert reply.choices[0].message.reasoning_content  # type: ignore[attr-defined]
    assert last_converse_body(double)["toolConfig"]["toolChoice"] == {"auto": {}}


def test_cache_control_marks_become_cache_points(client: openai.OpenAI, double: Any) -> None:
    mark = {"type": "ephemeral"}
    client.chat.completions.create(
        model="claude-sonnet-5-5",
        messages=[
            {"role": "system", "content": [{"type": "text", "text": "Long rules", "cache_control": mark}]},  # type: ignore[list-item,typeddict-unknown-key]
            {
                "role": "user",
                "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}],
            },  # type: ignore[list-item,typeddict-unknown-key]
        ],
        tools=[{**TOOL, "cache_control": {"type": "ephemeral"}}],  # type: ignore[list-item]
    )
    body = last_converse_body(double)
    assert body["system"] == [{"text": "Long rules"}, {"cachePoint": {"type": "default"}}]  # ttl: the API's
    assert body["messages"][0]["content"] == [{"text": "hi"}, {"cachePoint": {"type": "default"}}]
    assert body["toolConfig"]["tools"][1] == {"cachePoint": {"type": "default"}}
