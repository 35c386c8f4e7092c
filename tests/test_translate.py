"""Our OpenAI → Converse translation on its own: what the catalog's facts change, and what it refuses."""

from __future__ import annotations

from typing import Any

import litellm
import pytest

from pennyworth.catalog import ConverseFacts, ModelRoute
from pennyworth.errors import InvalidRequest, NotFound, RateLimited, UpstreamError, UpstreamTimeout
from pennyworth.llm.bedrock.embeddings import embedding_bodies
from pennyworth.llm.bedrock.translate import ConverseRequest, translate_chat
from pennyworth.llm.providers.other import map_litellm_error
from pennyworth.llm.types import ChatCall

NOVA = ModelRoute(
    name="nova-pro",
    kind="chat",
    provider="bedrock",
    model_id="us.amazon.nova-pro-v1:0",
    capabilities=frozenset({"tools", "prompt_cache"}),
)
HAIKU = ModelRoute(
    name="claude-haiku-4-5",
    kind="chat",
    provider="bedrock",
    model_id="us.anthropic.claude-haiku-4-5-20251001-v1:0",
    capabilities=frozenset({"prompt_cache"}),
    converse=ConverseFacts(reasoning="budget", cache_ttl=True, structured_output="native"),
)
SONNET_55 = ModelRoute(
    name="claude-sonnet-5-5",
    kind="chat",
    provider="bedrock",
    model_id="us.anthropic.claude-sonnet-5-5",
    converse=ConverseFacts(
        reasoning="adaptive", thinking_always_on=True, forced_tool_choice=False, sampling_params=False
    ),
)
RAW = ModelRoute(
    name="us.anthropic.claude-x", kind="chat", provider="bedrock", model_id="us.anthropic.claude-x"
)
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
HI = [{"role": "user", "content": "hi"}]


def translate(route: ModelRoute, messages: list[dict[str, Any]], **params: Any) -> ConverseRequest:
    return translate_chat(ChatCall(route=route, messages=messages, params=params))


def test_inference_parameters() -> None:
    body = translate(NOVA, HI, temperature=0.1, top_p=0.5, max_tokens=9, stop=["x"], seed=1, user="u").body
    assert body["inferenceConfig"] == {
        "temperature": 0.1,
        "topP": 0.5,
        "maxTokens": 9,
        "stopSequences": ["x"],
    }
    assert body["messages"] == [{"role": "user", "content": [{"text": "hi"}]}]
    assert "seed" not in str(body) and "'u'" not in str(body)


def test_budget_thinking_leaves_room_for_the_answer() -> None:
    body = translate(HAIKU, HI, reasoning_effort="medium").body
    assert body["additionalModelRequestFields"] == {"thinking": {"type": "enabled", "budget_tokens": 2048}}
    assert body["inferenceConfig"]["maxTokens"] == 2048 + 4096


def test_newest_models_refuse_forced_tools_and_sampling_with_a_400() -> None:
    with pytest.raises(InvalidRequest, match="forced tool use") as refused:
        translate(SONNET_55, HI, tools=[TOOL], tool_choice="required")
    assert refused.value.param == "tool_choice"
    with pytest.raises(InvalidRequest, match="temperature"):
        translate(SONNET_55, HI, temperature=0.2)
    body = translate(SONNET_55, HI, tools=[TOOL], tool_choice="auto", temperature=1).body
    assert body["toolConfig"]["toolChoice"] == {"auto": {}}


def test_structured_output_on_an_always_thinking_model_offers_the_tool_unforced() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    request = translate(SONNET_55, HI, response_format=fmt)
    assert request.json_mode and "toolChoice" not in request.body["toolConfig"]
    assert request.body["toolConfig"]["tools"][0]["toolSpec"]["name"] == "json_tool_call"


def test_native_structured_output_closes_every_object() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "object", "properties": {}}}}
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    request = translate(HAIKU, HI, response_format=fmt)
    text_format = request.body["outputConfig"]["textFormat"]
    assert not request.json_mode and text_format["structure"]["jsonSchema"]["name"] == "x"
    assert text_format["structure"]["jsonSchema"]["schema"].count('"additionalProperties": false') == 2


def test_raw_ids_get_no_reasoning_guess() -> None:
    with pytest.raises(InvalidRequest) as refused:
        translate(RAW, HI, reasoning_effort="low")
    assert refused.value.param == "reasoning_effort"


def test_cache_points_follow_marked_parts_and_keep_ttl_only_where_allowed() -> None:
    marked = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "a", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        }
    ]
    assert translate(HAIKU, marked).body["messages"][0]["content"][1] == {
        "cachePoint": {"type": "default", "ttl": "1h"}
    }
    assert translate(NOVA, marked).body["messages"][0]["content"][1] == {"cachePoint": {"type": "default"}}
    assert len(translate(RAW, marked).body["messages"][0]["content"]) == 1  # no prompt_cache capability


def test_thinking_blocks_replay_first_with_signatures() -> None:
    messages = [
        *HI,
        {
            "role": "assistant",
            "content": "ok",
            "thinking_blocks": [
                {"type": "thinking", "thinking": "t", "signature": "s"},
                {"type": "redacted_thinking", "data": "r"},
            ],
        },
        {"role": "user", "content": "more"},
    ]
    content = translate(HAIKU, messages).body["messages"][1]["content"]
    assert content == [
        {"reasoningContent": {"reasoningText": {"text": "t", "signature": "s"}}},
        {"reasoningContent": {"redactedContent": "r"}},
        {"text": "ok"},
    ]


def test_images_and_files_become_blocks() -> None:
    parts = [
        {"type": "image_url", "image_url": {"url": "data:image/gif;base64,R0lGODlh"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "a_b.pdf"}},
        {"type": "file", "file": {"file_data": "data:video/mp4;base64,AAAA"}},
    ]
    content = translate(NOVA, [{"role": "user", "content": parts}]).body["messages"][0]["content"]
    assert content[0] == {"image": {"format": "gif", "source": {"bytes": "R0lGODlh"}}}
    assert content[1] == {"document": {"format": "pdf", "name": "a b", "source": {"bytes": "JVBE"}}}
    assert content[2] == {"video": {"format": "mp4", "source": {"bytes": "AAAA"}}}


@pytest.mark.parametrize(
    ("part", "match"),
    [
        ({"type": "image_url", "image_url": {"url": "data:image/bmp;base64,Qk0="}}, "bmp"),
        ({"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}, "data:"),
        ({"type": "file", "file": {"file_id": "file-1"}}, "file_data"),
        ({"type": "file", "file": {"file_data": "data:application/zip;base64,UEs="}}, "zip"),
        ({"type": "input_audio", "input_audio": {}}, "input_audio"),
    ],
)
def test_untranslatable_parts_are_a_400_naming_the_part(part: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidRequest, match=match) as refused:
        translate(NOVA, [{"role": "user", "content": [part]}])
    assert (refused.value.param or "").startswith("messages.0.content.0")


def test_embedding_bodies() -> None:
    titan = ModelRoute(
        name="t", kind="embedding", provider="bedrock", model_id="amazon.titan-embed-text-v2:0"
    )
    cohere = ModelRoute(name="c", kind="embedding", provider="bedrock", model_id="cohere.embed-english-v3")
    assert embedding_bodies(titan, ["a", "b"], 256) == [
        {"inputText": "a", "dimensions": 256},
        {"inputText": "b", "dimensions": 256},
    ]
    assert embedding_bodies(cohere, ["a", "b"], None) == [
        {"texts": ["a", "b"], "input_type": "search_document"}
    ]
    with pytest.raises(InvalidRequest):
        embedding_bodies(cohere, ["a"], 256)


def test_litellm_errors_map_to_ours() -> None:
    def make(cls: Any) -> Exception:
        return cls(message="boom", llm_provider="openai", model="m")  # type: ignore[no-any-return]

    assert isinstance(map_litellm_error(make(litellm.RateLimitError)), RateLimited)
    assert isinstance(map_litellm_error(make(litellm.NotFoundError)), NotFound)
    assert isinstance(map_litellm_error(make(litellm.Timeout)), UpstreamTimeout)
    assert isinstance(map_litellm_error(RuntimeError("x")), UpstreamError)
    mapped = map_litellm_error(make(litellm.BadRequestError))
    assert isinstance(mapped, InvalidRequest) and "litellm" not in mapped.message.lower()
