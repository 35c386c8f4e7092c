"""OpenAI Responses API end to end with the official `openai` SDK, and Codex-CLI-shaped requests over HTTP."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from pennyworth.access.keys import KeyStore
from pennyworth.access.table import table
from pennyworth.access.usage import UsageLedger
from pennyworth.api.app import create_app
from tests.conftest import API_KEY
from tests.support.servers import serve_app

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def test_plain_response(client: openai.OpenAI, double) -> None:
    response = client.responses.create(
        model="claude-sonnet-5-5", instructions="Be brief.", input="Hello there"
    )
    assert response.object == "response" and response.status == "completed"
    assert response.output_text == "This is a simulated Bedrock reply to: Hello there"
    assert (
        response.usage.output_tokens == 9 and response.usage.total_tokens == response.usage.input_tokens + 9
    )
    body = next(b for op, _, b in reversed(double.requests) if op == "converse")
    assert body["system"] == [{"text": "Be brief."}]


def test_streamed_response_events(client: openai.OpenAI) -> None:
    events = list(client.responses.create(model="nova-pro", input="[[double:chunks=5]]", stream=True))
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert "".join(deltas) == "w0 w1 w2 w3 w4" and len(deltas) == 5
    order = [k for k in kinds if not k.endswith(".delta")]
    assert order[2:] == [
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    completed = events[-1].response
    assert completed.output_text == "w0 w1 w2 w3 w4" and completed.usage.output_tokens == 5


def test_stream_helper_accumulates(client: openai.OpenAI) -> None:
    with client.responses.stream(model="nova-pro", input="[[double:chunks=3]]") as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert text == "w0 w1 w2" and final.output_text == "w0 w1 w2"


def test_function_tool_whole_and_streamed(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="claude-haiku-4-5", input="Weather?", tools=[WEATHER], tool_choice="required"
    )
    (call,) = [item for item in response.output if item.type == "function_call"]
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"} and call.call_id
    events = list(
        client.responses.create(
            model="claude-haiku-4-5", input="Weather?", tools=[WEATHER], tool_choice="required", stream=True
        )
    )
    arguments = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert json.loads(arguments) == {"city": "Paris"}
    (done,) = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert done.arguments == arguments
    added = next(e for e in events if e.type == "response.output_item.added")
    assert added.item.type == "function_call" and added.item.name == "get_weather"


def test_json_schema_text_format(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    response = client.responses.create(
        model="claude-sonnet-5-5",
        input="Invent a person",
        text={"format": {"type": "json_schema", "name": "person", "schema": schema}},
    )
    assert json.loads(response.output_text) == {"name": "Paris", "age": 42}


def test_reasoning_summary_streamed(client: openai.OpenAI) -> None:
    events = list(
        client.responses.create(
            model="claude-haiku-4-5",
            input="Think",
            reasoning={"effort": "low", "summary": "auto"},
            stream=True,
        )
    )
    summary = "".join(e.delta for e in events if e.type == "response.reasoning_summary_text.delta")
    assert summary == "Let me think this through step by step."
    items = [e.item.type for e in events if e.type == "response.output_item.done"]
    assert items == ["reasoning", "message"]


def test_codex_cli_shaped_conversation(gateway_url: str, double) -> None:
    body = {
        "model": "gpt-4.1",
        "instructions": "You are Codex.",
        "input": [
            {
                "type": "message",
                "role": "developer",
                "content": [{"type": "input_text", "text": "Use tools."}],
            },
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "What's the weather?"}],
            },
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "opaque"},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "get_weather",
                "arguments": '{"city":"Paris"}',
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "Sunny, 21 C"},
        ],
        "tools": [WEATHER],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": False,
        "stream": True,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "session-123",
    }
    with httpx.stream(
        "POST", f"{gateway_url}/v1/responses", json=body, headers={"Authorization": f"Bearer {API_KEY}"}
    ) as response:
        assert response.status_code == 200
        frames = [f for f in response.read().decode().split("\n\n") if f]
    events = [json.loads(f.split("data: ", 1)[1]) for f in frames]
    assert events[-1]["type"] == "response.completed"
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == "The tool says: Sunny, 21 C"
    sent = next(b for op, _, b in reversed(double.requests) if op == "converse-stream")
    assert sent["messages"][1]["content"][0]["toolUse"]["toolUseId"] == "call_1"
    assert sent["messages"][2]["content"][0]["toolResult"]["toolUseId"] == "call_1"
    assert {"text": "You are Codex."} in sent["system"] and {"text": "Use tools."} in sent["system"]


def test_stateless_refusals(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="nova-pro", input="hi", previous_response_id="resp_123")
    assert caught.value.body["param"] == "previous_response_id"
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="nova-pro", input="hi", store=True)
    assert caught.value.body["param"] == "store"


def test_errors_and_limits_from_responses(double, dynamodb, table_name) -> None:
    from tests.conftest import gateway_settings

    settings = gateway_settings(double, dynamodb, table_name)
    record, key = KeyStore(table(settings)).create({"name": "codex", "rpm": 2, "allowed_models": ("nova-*",)})
    with serve_app(create_app(settings)) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)
        with pytest.raises(openai.PermissionDeniedError):
            client.responses.create(model="claude-sonnet-5-5", input="hi")
        whole = client.responses.create(model="nova-pro", input="hi")
        streamed = list(client.responses.create(model="nova-pro", input="[[double:chunks=3]]", stream=True))
        with pytest.raises(openai.RateLimitError):
            client.responses.create(model="nova-pro", input="hi")
    rows = UsageLedger(table(settings)).rows(record.key_id)
    seen = whole.usage.output_tokens + streamed[-1].response.usage.output_tokens
    assert sum(r.requests for r in rows) == 2 and sum(r.completion_tokens for r in rows) == seen


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_tools_the_gateway_does_not_run_are_dropped_and_named(gateway_url: str, double, stream: bool) -> None:
    offered = [
        WEATHER,
        {"type": "web_search", "search_context_size": "medium"},
        {"type": "web_search_preview"},
        {"type": "namespace", "name": "multi_agent_v1", "tools": []},
        {"type": "local_shell"},
        {"type": "custom", "name": "apply_patch", "format": {"type": "text"}},
    ]
    body = {"model": "nova-pro", "input": "Hi", "tools": offered, "stream": stream}
    response = httpx.post(
        f"{gateway_url}/v1/responses", json=body, headers={"Authorization": f"Bearer {API_KEY}"}
    )
    assert response.status_code == 200
    assert (
        response.headers["x-pennyworth-dropped-tools"]
        == "web_search,web_search_preview,namespace,local_shell,custom"
    )
    sent = next(b for op, _, b in reversed(double.requests) if op.startswith("converse"))
    assert [t["toolSpec"]["name"] for t in sent["toolConfig"]["tools"]] == ["get_weather"]


def test_only_function_tools_means_no_dropped_tools_header(client: openai.OpenAI) -> None:
    raw = client.responses.with_raw_response.create(model="nova-pro", input="Hi", tools=[WEATHER])
    assert "x-pennyworth-dropped-tools" not in raw.headers


@pytest.mark.parametrize(
    "tool",
    [
        {"type": "file_search", "vector_store_ids": ["vs_1"]},
        {"type": "code_interpreter", "container": {"type": "auto"}},
        {"type": "mcp", "server_label": "deepwiki", "server_url": "https://example.com/mcp"},
        {
            "type": "computer_use_preview",
            "display_width": 1024,
            "display_height": 768,
            "environment": "linux",
        },
        {"type": "image_generation"},
    ],
    ids=lambda tool: tool["type"],
)
def test_server_side_tools_are_refused_naming_the_tool(client: openai.OpenAI, tool: dict) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="nova-pro", input="Hi", tools=[WEATHER, tool])
    error = caught.value.body
    assert error["param"] == "tools.1.type" and f"'{tool['type']}'" in error["message"]
    assert error["code"] == "unsupported_tool"
