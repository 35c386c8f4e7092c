"""Anthropic Messages API end to end: the official `anthropic` SDK → gateway → Claude over InvokeModel (double)."""

from __future__ import annotations

import time

import anthropic
import httpx
import pytest

from pennyworth.access.keys import KeyStore
from pennyworth.access.table import table
from pennyworth.access.usage import UsageLedger
from pennyworth.api.app import create_app
from tests.conftest import API_KEY
from tests.support.servers import serve_app

WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture
def claude(gateway_url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway_url, api_key=API_KEY, max_retries=0, timeout=30)


def last_invoke(double) -> tuple[str, str, dict]:
    return next(
        r for r in reversed(double.requests) if r[0].startswith("invoke") and "anthropic_version" in r[2]
    )


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_create_message(claude: anthropic.Anthropic, double) -> None:
    message = claude.messages.create(
        model="claude-sonnet-5-5", max_tokens=100, system="Be brief.", messages=user("Hi")
    )
    assert message.type == "message" and message.role == "assistant"
    assert message.model == "claude-sonnet-5-5"
    assert (
        message.content[0].type == "text"
        and message.content[0].text == "Hello from Claude on the Bedrock double."
    )
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens == 1 and message.usage.output_tokens == 7
    operation, model_id, body = last_invoke(double)
    assert (operation, model_id) == ("invoke", "us.anthropic.claude-sonnet-5-5")
    assert body["anthropic_version"] == "bedrock-2023-05-31" and body["system"] == "Be brief."
    assert "model" not in body and "stream" not in body


def test_stream_text_events_in_order(claude: anthropic.Anthropic) -> None:
    kinds = []
    with claude.messages.stream(
        model="claude-haiku-5-5", max_tokens=200, messages=user("[[double:chunks=6]]")
    ) as stream:
        for event in stream:
            kinds.append(event.type)
        final = stream.get_final_message()
    assert final.content[0].text == "w0 w1 w2 w3 w4 w5"
    assert final.model == "claude-haiku-5-5" and final.usage.output_tokens == 6
    raw = [k for k in kinds if k not in ("text",)]
    assert raw[0] == "message_start" and raw[-1] == "message_stop"
    assert "content_block_start" in raw and "content_block_stop" in raw and "message_delta" in raw


def test_stream_wire_format(gateway_url: str) -> None:
    body = {"model": "claude-sonnet-5-5", "max_tokens": 50, "stream": True, "messages": user("hi")}
    with httpx.stream(
        "POST", f"{gateway_url}/v1/messages?beta=true", json=body, headers={"x-api-key": API_KEY}
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        frames = [f for f in response.read().decode().split("\n\n") if f]
    names = [f.split("\n")[0] for f in frames]
    assert names[:2] == ["event: message_start", "event: ping"]
    assert names[-2:] == ["event: message_delta", "event: message_stop"]
    assert "amazon-bedrock" not in frames[-1]


def test_tool_use_streamed_with_input_json_delta(claude: anthropic.Anthropic) -> None:
    deltas = []
    with claude.messages.stream(
        model="claude-sonnet-5-5",
        max_tokens=200,
        tools=[WEATHER],
        tool_choice={"type": "any"},
        messages=user("Weather in Paris?"),
    ) as stream:
        for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                deltas.append(event.delta.partial_json)
        final = stream.get_final_message()
    assert len(deltas) > 1
    tool_use = final.content[0]
    assert (
        tool_use.type == "tool_use" and tool_use.name == "get_weather" and tool_use.input == {"city": "Paris"}
    )
    assert final.stop_reason == "tool_use"


def test_thinking_with_signature(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(
        model="claude-sonnet-5-5",
        max_tokens=2000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=user("Think"),
    ) as stream:
        signatures = [
            e.delta.signature
            for e in stream
            if e.type == "content_block_delta" and e.delta.type == "signature_delta"
        ]
        final = stream.get_final_message()
    thinking = final.content[0]
    assert thinking.type == "thinking" and thinking.thinking.strip() == "Let me think this through."
    assert signatures == [thinking.signature] and thinking.signature


def test_multi_turn_with_tool_results_and_thinking_passed_back(claude: anthropic.Anthropic, double) -> None:
    first = claude.messages.create(
        model="claude-sonnet-5-5",
        max_tokens=2000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        tools=[WEATHER],
        tool_choice={"type": "auto"},
        messages=user("[[double:tool]] Weather?"),
    )
    thinking, tool_use = first.content
    messages = [
        *user("[[double:tool]] Weather?"),
        {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "Sunny, 21 C"}],
        },
    ]
    second = claude.messages.create(
        model="claude-sonnet-5-5",
        max_tokens=2000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        tools=[WEATHER],
        messages=messages,
    )
    assert second.content[-1].text == "The tool says: Sunny, 21 C"
    sent = last_invoke(double)[2]["messages"]
    assert sent[1]["content"][0] == {
        "type": "thinking",
        "thinking": thinking.thinking,
        "signature": thinking.signature,
    }
    assert sent[2]["content"][0]["tool_use_id"] == tool_use.id


def test_count_tokens_from_bedrock_and_estimated(claude: anthropic.Anthropic, double) -> None:
    counted = claude.messages.count_tokens(model="claude-sonnet-5-5", messages=user("one two three four"))
    assert counted.input_tokens == 4
    operation, model_id, _ = double.requests[-1]
    assert (operation, model_id) == ("count-tokens", "anthropic.claude-sonnet-5-5")  # profile prefix removed
    estimated = claude.messages.count_tokens(model="claude-haiku-4-5", messages=user("one two three four"))
    assert estimated.input_tokens > 0  # this model has no CountTokens: an estimate, never a 404


def test_claude_code_headers_betas_cache_ttl_and_metadata(gateway_url: str, double) -> None:
    body = {
        "model": "claude-haiku-4-5-20251001",
        "max_tokens": 64,
        "metadata": {"user_id": "user_abc_account_123_session_xyz"},
        "system": [
            {
                "type": "text",
                "text": "You are Claude Code.",
                "cache_control": {"type": "ephemeral", "ttl": "1h"},
            }
        ],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral", "ttl": "5m"}}
                ],
            }
        ],
        "tools": [WEATHER, {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}],
    }
    headers = {
        "Authorization": f"Bearer {API_KEY}",
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,effort-2025-11-24,tool-search-tool-2025-10-19,context-management-2025-06-27",
    }
    response = httpx.post(f"{gateway_url}/v1/messages?beta=true", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["model"] == "claude-haiku-4-5-20251001"
    _, model_id, sent = last_invoke(double)
    assert model_id == "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    assert sent["anthropic_beta"] == ["interleaved-thinking-2025-05-14"]
    assert sent["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert sent["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert [t["name"] for t in sent["tools"]] == ["get_weather"] and "metadata" not in sent


def test_unknown_claude_name_falls_back_by_family(claude: anthropic.Anthropic, double) -> None:
    message = claude.messages.create(model="claude-opus-4-1", max_tokens=20, messages=user("hi"))
    assert message.model == "claude-opus-4-1"
    assert last_invoke(double)[1] == "us.anthropic.claude-opus-5-5"
    claude.messages.create(model="claude-3-5-haiku-20241022", max_tokens=20, messages=user("hi"))
    assert last_invoke(double)[1] == "us.anthropic.claude-haiku-5-5"


@pytest.mark.parametrize(
    ("make_call", "status", "error_type"),
    [
        (
            lambda c: c.messages.create(
                model="claude-sonnet-5-5", max_tokens=5, messages=user("[[double:error=ValidationException]]")
            ),
            400,
            "invalid_request_error",
        ),
        (
            lambda c: c.messages.create(model="gpt-9-ultra", max_tokens=5, messages=user("hi")),
            404,
            "not_found_error",
        ),
        (
            lambda c: c.messages.create(model="nova-pro", max_tokens=5, messages=user("hi")),
            400,
            "invalid_request_error",
        ),
        (
            lambda c: c.messages.create(
                model="claude-sonnet-5-5", max_tokens=5, messages=user("[[double:error=ThrottlingException]]")
            ),
            429,
            "rate_limit_error",
        ),
        (
            lambda c: c.messages.create(
                model="claude-sonnet-5-5",
                max_tokens=5,
                messages=user("[[double:error=ServiceUnavailableException]]"),
            ),
            529,
            "overloaded_error",
        ),
        (
            lambda c: c.messages.create(
                model="claude-sonnet-5-5", max_tokens=5, messages=user("[[double:error=ModelErrorException]]")
            ),
            502,
            "api_error",
        ),
        (
            lambda c: c.messages.create(
                model="claude-sonnet-5-5",
                max_tokens=5,
                messages=user("[[double:error=AccessDeniedException]]"),
            ),
            403,
            "permission_error",
        ),
    ],
)
def test_errors_in_anthropic_envelope(
    claude: anthropic.Anthropic, make_call, status: int, error_type: str
) -> None:
    with pytest.raises(anthropic.APIStatusError) as caught:
        make_call(claude)
    assert caught.value.status_code == status
    assert caught.value.body["type"] == "error" and caught.value.body["error"]["type"] == error_type
    assert caught.value.body["error"]["message"]


def test_missing_max_tokens_and_auth_errors(gateway_url: str) -> None:
    response = httpx.post(
        f"{gateway_url}/v1/messages",
        json={"model": "claude-sonnet-5-5", "messages": user("hi")},
        headers={"x-api-key": API_KEY},
    )
    assert response.status_code == 400
    assert response.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
    }
    response = httpx.post(
        f"{gateway_url}/v1/messages",
        json={"model": "claude-sonnet-5-5", "max_tokens": 5, "messages": user("hi")},
        headers={"x-api-key": "pw-000000000000-" + "x" * 43},
    )
    assert response.status_code == 401 and response.json()["error"]["type"] == "authentication_error"
    response = httpx.post(
        f"{gateway_url}/v1/messages",
        content=b"{not json",
        headers={"x-api-key": API_KEY, "content-type": "application/json"},
    )
    assert response.status_code == 400 and response.json()["type"] == "error"


def test_body_too_large_in_anthropic_envelope(make_settings) -> None:
    with serve_app(create_app(make_settings(max_body_bytes=1024))) as url:
        body = {"model": "claude-sonnet-5-5", "max_tokens": 5, "messages": user("x" * 4096)}
        response = httpx.post(f"{url}/v1/messages", json=body, headers={"x-api-key": API_KEY})
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "request_too_large"


def test_midstream_error_event(claude: anthropic.Anthropic, gateway_url: str) -> None:
    text = (
        "[[double:chunks=10]] [[double:midstream_error=modelStreamErrorException]] [[double:error_after=3]]"
    )
    body = {"model": "claude-sonnet-5-5", "max_tokens": 50, "stream": True, "messages": user(text)}
    with httpx.stream(
        "POST", f"{gateway_url}/v1/messages", json=body, headers={"x-api-key": API_KEY}
    ) as response:
        frames = [f for f in response.read().decode().split("\n\n") if f]
    assert frames[-1].startswith("event: error\ndata: ")
    assert '"type":"api_error"' in frames[-1]
    with (
        pytest.raises(anthropic.APIError),
        claude.messages.stream(model="claude-sonnet-5-5", max_tokens=50, messages=user(text)) as stream,
    ):
        for _ in stream:
            pass


def test_limits_and_ledger_apply_to_messages(double, dynamodb, table_name) -> None:
    from tests.conftest import gateway_settings

    settings = gateway_settings(double, dynamodb, table_name)
    record, key = KeyStore(table(settings)).create({"name": "claude code", "rpm": 4})
    with serve_app(create_app(settings)) as url:
        client = anthropic.Anthropic(base_url=url, api_key=key, max_retries=0)
        whole = client.messages.create(model="claude-sonnet-5-5", max_tokens=50, messages=user("hi"))
        with client.messages.stream(
            model="claude-sonnet-5-5", max_tokens=50, messages=user("[[double:chunks=4]]")
        ) as stream:
            streamed = stream.get_final_message()
        client.messages.count_tokens(
            model="claude-sonnet-5-5", messages=user("hi")
        )  # counts against the RPM, but is not a model call: not in the ledger
        client.messages.create(model="claude-sonnet-5-5", max_tokens=50, messages=user("hi"))
        with pytest.raises(anthropic.RateLimitError) as caught:
            client.messages.create(model="claude-sonnet-5-5", max_tokens=50, messages=user("hi"))
    assert caught.value.body["error"]["type"] == "rate_limit_error"
    deadline = time.monotonic() + 5
    rows = []
    while time.monotonic() < deadline and sum(r.requests for r in rows) < 3:
        rows = UsageLedger(table(settings)).rows(record.key_id)
        time.sleep(0.05)
    assert sum(r.requests for r in rows) == 3
    assert (
        sum(r.completion_tokens for r in rows) == whole.usage.output_tokens * 2 + streamed.usage.output_tokens
    )
