"""The LiteLLM boundary: OpenAI-shaped calls → Converse and embedding bodies; LiteLLM errors → ours."""

from __future__ import annotations

import litellm
import pytest

from pennyworth.catalog import ModelRoute
from pennyworth.errors import InvalidRequest, NotFound, RateLimited, UpstreamError, UpstreamTimeout
from pennyworth.llm.providers.other import map_litellm_error
from pennyworth.llm.providers.translation import ConverseRequest, translate_chat, translate_embedding
from pennyworth.llm.types import ChatCall

NOVA = ModelRoute(name="nova-pro", kind="chat", provider="bedrock", model_id="us.amazon.nova-pro-v1:0")
HAIKU = ModelRoute(
    name="claude-haiku-4-5",
    kind="chat",
    provider="bedrock",
    model_id="us.anthropic.claude-haiku-4-5-20251001-v1:0",
)
TITAN = ModelRoute(
    name="titan", kind="embedding", provider="bedrock", model_id="amazon.titan-embed-text-v2:0"
)
COHERE = ModelRoute(name="cohere", kind="embedding", provider="bedrock", model_id="cohere.embed-english-v3")


def translate(route: ModelRoute, messages: list[dict], **params) -> ConverseRequest:
    return translate_chat(ChatCall(route=route, messages=messages, params=params))


def test_inference_parameters() -> None:
    body = translate(
        NOVA, [{"role": "user", "content": "hi"}], temperature=0.1, top_p=0.5, max_tokens=9, stop=["x"]
    ).body
    assert body["inferenceConfig"] == {
        "temperature": 0.1,
        "topP": 0.5,
        "maxTokens": 9,
        "stopSequences": ["x"],
    }
    assert body["messages"] == [{"role": "user", "content": [{"text": "hi"}]}]


def test_seed_and_user_are_not_forwarded() -> None:
    body = translate(NOVA, [{"role": "user", "content": "hi"}], seed=1, user="u").body
    assert "seed" not in str(body) and "'u'" not in str(body)


def test_tools_and_choices() -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
    auto = translate(NOVA, [{"role": "user", "content": "hi"}], tools=[tool], tool_choice="auto").body
    assert auto["toolConfig"]["tools"][0]["toolSpec"]["name"] == "f"
    assert auto["toolConfig"]["toolChoice"] == {"auto": {}}
    named = translate(
        NOVA,
        [{"role": "user", "content": "hi"}],
        tools=[tool],
        tool_choice={"type": "function", "function": {"name": "f"}},
    )
    assert named.body["toolConfig"]["toolChoice"] == {"tool": {"name": "f"}}


def test_reasoning_effort_sets_a_thinking_budget() -> None:
    low = translate(HAIKU, [{"role": "user", "content": "hi"}], reasoning_effort="low").body
    high = translate(HAIKU, [{"role": "user", "content": "hi"}], reasoning_effort="high").body
    low_budget = low["additionalModelRequestFields"]["thinking"]["budget_tokens"]
    assert high["additionalModelRequestFields"]["thinking"]["budget_tokens"] > low_budget > 0


def test_json_schema_sets_json_mode_where_litellm_uses_a_tool() -> None:
    route = ModelRoute(name="s", kind="chat", provider="bedrock", model_id="us.anthropic.claude-sonnet-5-5")
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    request = translate(route, [{"role": "user", "content": "hi"}], response_format=fmt)
    assert request.json_mode is True
    assert request.body["toolConfig"]["tools"][0]["toolSpec"]["name"] == "json_tool_call"


def test_images_become_bytes_blocks() -> None:
    content = [{"type": "image_url", "image_url": {"url": "data:image/gif;base64,R0lGODlh"}}]
    body = translate(NOVA, [{"role": "user", "content": content}]).body
    assert body["messages"][0]["content"][0]["image"] == {"source": {"bytes": "R0lGODlh"}, "format": "gif"}


def test_untranslatable_request_is_invalid() -> None:
    content = [{"type": "image_url", "image_url": {"url": "data:image/bmp;base64,Qk0="}}]
    with pytest.raises(InvalidRequest, match="bmp"):
        translate(NOVA, [{"role": "user", "content": content}])


def test_embedding_bodies() -> None:
    assert translate_embedding(TITAN, ["a", "b"], 256) == [
        {"inputText": "a", "dimensions": 256},
        {"inputText": "b", "dimensions": 256},
    ]
    (cohere,) = translate_embedding(COHERE, ["a", "b"], None)
    assert cohere["texts"] == ["a", "b"] and cohere["input_type"] == "search_document"
    with pytest.raises(InvalidRequest):
        translate_embedding(COHERE, ["a"], 256)


def test_litellm_errors_map_to_ours() -> None:
    def make(cls, **extra):
        return cls(message="boom", llm_provider="openai", model="m", **extra)

    assert isinstance(map_litellm_error(make(litellm.RateLimitError)), RateLimited)
    assert isinstance(map_litellm_error(make(litellm.NotFoundError)), NotFound)
    assert isinstance(map_litellm_error(make(litellm.Timeout)), UpstreamTimeout)
    assert isinstance(map_litellm_error(RuntimeError("x")), UpstreamError)
    mapped = map_litellm_error(make(litellm.BadRequestError))
    assert isinstance(mapped, InvalidRequest) and "litellm" not in mapped.message.lower()
