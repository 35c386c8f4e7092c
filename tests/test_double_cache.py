"""The Bedrock double's prompt cache refuses what Bedrock refuses and reports reads and writes like Bedrock,
over the real wire (signed Converse calls)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson
import pytest

from pennyworth.errors import InvalidRequest
from pennyworth.llm.bedrock.wire import BedrockRuntime
from pennyworth.settings import Settings
from pennyworth_dev.bedrock_double import BedrockDouble

SONNET = "us.anthropic.claude-sonnet-5-5"
NOVA = "us.amazon.nova-pro-v1:0"
POINT: dict[str, Any] = {"cachePoint": {"type": "default"}}


def _words(n: int) -> str:
    return " ".join(f"w{uuid.uuid4().hex[:6]}" for _ in range(n))


def _converse(double: BedrockDouble, model_id: str, body: dict[str, Any]) -> dict[str, Any]:
    async def call() -> dict[str, Any]:
        runtime = BedrockRuntime(Settings(AWS_ENDPOINT_URL_BEDROCK_RUNTIME=double.url))
        try:
            return await runtime.converse(model_id, orjson.dumps(body))
        finally:
            await runtime.aclose()

    return asyncio.run(call())


def _body(system: str, *turns: str, points: int = 1, ttl: str | None = None) -> dict[str, Any]:
    point = {"cachePoint": {"type": "default", **({"ttl": ttl} if ttl else {})}}
    messages = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": [{"text": t}]} for i, t in enumerate(turns)
    ]
    return {"system": [{"text": system}] + [point] * points, "messages": messages}


def test_a_written_prefix_is_read_by_the_next_request(double: BedrockDouble) -> None:
    system = _words(1500)
    first = _converse(double, SONNET, _body(system, "hello"))["usage"]
    assert (first["cacheWriteInputTokens"], first["cacheReadInputTokens"]) == (1500, 0)
    second = _converse(double, SONNET, _body(system, "hello again"))["usage"]
    assert (second["cacheWriteInputTokens"], second["cacheReadInputTokens"]) == (0, 1500)
    assert second["inputTokens"] == 2  # only the part after the cache point is billed as plain input


def test_the_same_prefix_on_another_model_is_not_read(double: BedrockDouble) -> None:
    system = _words(1500)
    _converse(double, SONNET, _body(system, "hello"))
    other = _converse(double, "global.anthropic.claude-sonnet-5-5", _body(system, "hello"))["usage"]
    assert (other["cacheReadInputTokens"], other["cacheWriteInputTokens"]) == (0, 1500)


def test_a_prefix_under_the_models_minimum_is_not_cached(double: BedrockDouble) -> None:
    system = _words(900)  # Sonnet's minimum is 1024
    for _ in range(2):
        usage = _converse(double, SONNET, _body(system, "hello"))["usage"]
        assert (usage["cacheReadInputTokens"], usage["cacheWriteInputTokens"]) == (0, 0)
        assert usage["inputTokens"] == 901


def test_a_longer_prefix_reads_the_shorter_one_and_writes_the_rest(double: BedrockDouble) -> None:
    system, turn = _words(1100), _words(300)
    body = _body(system, turn)
    _converse(double, SONNET, body)
    body["messages"][0]["content"].append(POINT)
    body["messages"] += [
        {"role": "assistant", "content": [{"text": "ok"}]},
        {"role": "user", "content": [{"text": "more"}]},
    ]
    usage = _converse(double, SONNET, body)["usage"]
    assert (usage["cacheReadInputTokens"], usage["cacheWriteInputTokens"]) == (1100, 300)


def test_more_than_four_cache_points_are_refused(double: BedrockDouble) -> None:
    with pytest.raises(InvalidRequest, match="maximum of 4 cache points"):
        _converse(double, SONNET, _body(_words(10), "hi", points=5))


def test_a_ttl_that_increases_is_refused(double: BedrockDouble) -> None:
    body = _body(_words(10), "hi")
    body["toolConfig"] = {
        "tools": [{"toolSpec": {"name": "t", "inputSchema": {"json": {"type": "object"}}}}, POINT]
    }
    body["system"][-1] = {"cachePoint": {"type": "default", "ttl": "1h"}}
    with pytest.raises(InvalidRequest, match="must not come after"):
        _converse(double, SONNET, body)


def test_a_ttl_the_model_does_not_support_is_refused(double: BedrockDouble) -> None:
    with pytest.raises(InvalidRequest, match="does not support cache TTL '1h'"):
        _converse(double, NOVA, _body(_words(10), "hi", ttl="1h"))
    _converse(double, SONNET, _body(_words(10), "hi", ttl="1h"))  # Sonnet takes one hour


def test_an_unknown_cache_point_type_is_refused(double: BedrockDouble) -> None:
    body = _body(_words(10), "hi")
    body["system"][-1] = {"cachePoint": {"type": "ephemeral"}}
    with pytest.raises(InvalidRequest, match="type must be 'default'"):
        _converse(double, SONNET, body)


def test_without_cache_points_usage_has_no_cache_fields(double: BedrockDouble) -> None:
    usage = _converse(double, SONNET, {"messages": [{"role": "user", "content": [{"text": _words(1500)}]}]})[
        "usage"
    ]
    assert "cacheReadInputTokens" not in usage and usage["inputTokens"] == 1500


def test_nova_refuses_a_cache_point_in_tools(double: BedrockDouble) -> None:
    body = _body(_words(10), "hi", points=0)
    body["toolConfig"] = {
        "tools": [{"toolSpec": {"name": "t", "inputSchema": {"json": {"type": "object"}}}}, POINT]
    }
    with pytest.raises(InvalidRequest, match="does not support cache points in tools"):
        _converse(double, NOVA, body)


def test_cache_writes_are_broken_down_by_ttl(double: BedrockDouble) -> None:
    system, turn = _words(1100), _words(300)
    body = _body(system, turn, ttl="1h")
    body["messages"][0]["content"].append(POINT)  # a 5-minute point after the one-hour one
    usage = _converse(double, SONNET, body)["usage"]
    assert usage["cacheWriteInputTokens"] == 1400
    assert usage["cacheDetails"] == [{"ttl": "1h", "inputTokens": 1100}, {"ttl": "5m", "inputTokens": 300}]
    again = _converse(double, SONNET, body)["usage"]
    assert (again["cacheReadInputTokens"], again["cacheDetails"]) == (1400, [])
