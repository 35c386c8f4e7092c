"""Chat completions end to end: the official OpenAI SDK → gateway under uvicorn → Bedrock double over HTTP."""

from __future__ import annotations

import base64
import json
import time

import httpx
import openai
import pytest

from tests.conftest import API_KEY

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}},
    },
}
PNG_1PX = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def last_converse_body(double) -> dict:
    return next(body for op, _, body in reversed(double.requests) if op.startswith("converse"))


def test_plain_completion(client: openai.OpenAI, double) -> None:
    reply = client.chat.completions.create(
        model="claude-sonnet-5-5",
        messages=[{"role": "system", "content": "Be brief."}, *user("Hello there")],
    )
    assert reply.object == "chat.completion"
    assert reply.model == "claude-sonnet-5-5"
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content == "This is a simulated Bedrock reply to: Hello there"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.completion_tokens == 9
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    body = last_converse_body(double)
    assert body["system"] == [{"text": "Be brief."}]


def test_routes_to_inference_profile_and_signs(client: openai.OpenAI, double) -> None:
    client.chat.completions.create(model="claude-haiku-4-5", messages=user("hi"))
    operation, model_id, _ = double.requests[-1]
    assert (operation, model_id) == ("converse", "us.anthropic.claude-haiku-4-5-20251001-v1:0")


def test_developer_role_and_parameters_reach_bedrock(client: openai.OpenAI, double) -> None:
    client.chat.completions.create(
        model="nova-pro",
        messages=[{"role": "developer", "content": "Answer in French."}, *user("Hi")],
        temperature=0.3,
        top_p=0.8,
        max_completion_tokens=50,
        seed=7,
        user="someone@example.com",
    )
    body = last_converse_body(double)
    assert body["system"] == [{"text": "Answer in French."}]
    assert body["inferenceConfig"] == {"temperature": 0.3, "topP": 0.8, "maxTokens": 50}


def test_openai_alias_uses_default_model(client: openai.OpenAI, double) -> None:
    reply = client.chat.completions.create(model="gpt-4o", messages=user("Hi"))
    assert reply.model == "gpt-4o"
    assert double.requests[-1][1] == "us.anthropic.claude-sonnet-5-5"


def test_raw_bedrock_id_is_refused_by_default(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):  # `allow_raw_model_ids: true` in models.yaml accepts them
        client.chat.completions.create(model="us.amazon.nova-lite-v1:0", messages=user("Hi"))


def test_stream_arrives_chunk_by_chunk(client: openai.OpenAI, double) -> None:
    before = double.deltas_sent
    stream = client.chat.completions.create(
        model="nova-pro",
        messages=user("[[double:chunks=40]] [[double:chunk_delay=0.05]] go"),
        stream=True,
    )
    chunks = iter(stream)
    first = next(chunks)
    assert first.choices[0].delta.role == "assistant"
    first_text = next(chunks)
    sent_when_first_text_arrived = double.deltas_sent - before
    # The double pauses 50 ms between its 40 deltas: an unbuffered gateway relays the first long before the last.
    assert first_text.choices[0].delta.content == "w0 "
    assert sent_when_first_text_arrived < 40
    rest = list(chunks)
    text = first_text.choices[0].delta.content + "".join(c.choices[0].delta.content or "" for c in rest)
    assert text == " ".join(f"w{i}" for i in range(40))
    assert rest[-1].choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in rest[:-1])
    assert len({c.id for c in rest}) == 1 and rest[0].object == "chat.completion.chunk"


def test_stream_wire_format_is_openai_sse(gateway_url: str) -> None:
    payload = {
        "model": "nova-pro",
        "messages": user("Hi"),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with httpx.stream(
        "POST",
        f"{gateway_url}/v1/chat/completions",
        json=payload,
        headers={"Authorization": f"Bearer {API_KEY}"},
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read().decode()
    events = [e for e in raw.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(e[6:]) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


def test_stream_include_usage_and_cached_tokens(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="claude-sonnet-5-5",
            messages=user("[[double:cache_read=120]] hi"),
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    usage = chunks[-1].usage
    assert chunks[-1].choices == []
    assert usage.prompt_tokens_details.cached_tokens == 120
    assert usage.prompt_tokens >= 120
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_whole_completion_reports_cached_tokens(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="claude-sonnet-5-5", messages=user("[[double:cache_read=64]] hi")
    )
    assert reply.usage.prompt_tokens_details.cached_tokens == 64


def test_tool_call_whole(client: openai.OpenAI, double) -> None:
    reply = client.chat.completions.create(
        model="claude-haiku-4-5",
        messages=user("Weather in Paris?"),
        tools=[WEATHER_TOOL],
        tool_choice="required",
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "c"}
    assert last_converse_body(double)["toolConfig"]["toolChoice"] == {"any": {}}


def test_named_tool_choice(client: openai.OpenAI, double) -> None:
    reply = client.chat.completions.create(
        model="nova-pro",
        messages=user("What time is it?"),
        tools=[WEATHER_TOOL, TIME_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    assert reply.choices[0].message.tool_calls[0].function.name == "get_time"
    assert last_converse_body(double)["toolConfig"]["toolChoice"] == {"tool": {"name": "get_time"}}


def test_tool_choice_none_sends_no_tools(client: openai.OpenAI, double) -> None:
    reply = client.chat.completions.create(
        model="nova-pro", messages=user("[[double:tool]] hi"), tools=[WEATHER_TOOL], tool_choice="none"
    )
    assert reply.choices[0].message.tool_calls is None
    assert "toolConfig" not in last_converse_body(double)


def test_parallel_tool_calls_streamed(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="claude-sonnet-5-5",
        messages=user("[[double:tools=2]] Weather and time?"),
        tools=[WEATHER_TOOL, TIME_TOOL],
        stream=True,
    )
    calls: dict[int, dict] = {}
    finish = None
    for chunk in stream:
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        for delta in choice.delta.tool_calls or []:
            entry = calls.setdefault(delta.index, {"id": None, "name": None, "arguments": "", "fragments": 0})
            if delta.id:
                entry["id"] = delta.id
                assert delta.function.name and delta.type == "function"
                entry["name"] = delta.function.name
            if delta.function.arguments:
                entry["arguments"] += delta.function.arguments
                entry["fragments"] += 1
    assert finish == "tool_calls"
    assert sorted(calls) == [0, 1]
    assert [calls[0]["name"], calls[1]["name"]] == ["get_weather", "get_time"]
    assert calls[0]["id"] != calls[1]["id"]
    assert json.loads(calls[0]["arguments"]) == {"city": "Paris", "unit": "c"}
    assert calls[0]["fragments"] > 1  # arguments really arrive in partial pieces


def test_tool_result_follow_up_turn(client: openai.OpenAI, double) -> None:
    first = client.chat.completions.create(
        model="claude-haiku-4-5", messages=user("Weather?"), tools=[WEATHER_TOOL], tool_choice="required"
    )
    call = first.choices[0].message.tool_calls[0]
    messages = [
        *user("Weather?"),
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21 C"},
    ]
    second = client.chat.completions.create(
        model="claude-sonnet-5-5", messages=messages, tools=[WEATHER_TOOL]
    )
    assert second.choices[0].message.content == "The tool says: Sunny, 21 C"
    sent = last_converse_body(double)["messages"]
    assert sent[1]["content"][0]["toolUse"]["toolUseId"] == call.id
    assert sent[2]["content"][0]["toolResult"]["toolUseId"] == call.id


def test_image_input(client: openai.OpenAI, double) -> None:
    reply = client.chat.completions.create(
        model="claude-sonnet-5-5",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this picture?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_1PX}"}},
                ],
            }
        ],
    )
    assert reply.choices[0].message.content.startswith("This is a simulated Bedrock reply")
    image = last_converse_body(double)["messages"][0]["content"][1]["image"]
    assert image["format"] == "png" and base64.b64decode(image["source"]["bytes"]) == base64.b64decode(
        PNG_1PX
    )


@pytest.mark.parametrize("model", ["claude-sonnet-5-5", "claude-sonnet-4-5"])
def test_json_schema_structured_output(client: openai.OpenAI, model: str) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    reply = client.chat.completions.create(
        model=model,
        messages=user("Invent a person."),
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema}},
    )
    content = reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "stop"
    if model == "claude-sonnet-5-5":  # LiteLLM expresses it as the json_tool_call tool: answered as text
        assert json.loads(content) == {"name": "Paris", "age": 42}
        assert reply.choices[0].message.tool_calls is None
    else:  # native structured output: the schema travels in outputConfig
        assert content


def test_json_schema_streamed_as_text(client: openai.OpenAI) -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    chunks = list(
        client.chat.completions.create(
            model="claude-sonnet-5-5",
            messages=user("ok?"),
            response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": schema}},
            stream=True,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert json.loads(text) == {"ok": True}
    assert all(not c.choices[0].delta.tool_calls for c in chunks if c.choices)


def test_json_object_is_accepted(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="nova-pro", messages=user("Reply in JSON"), response_format={"type": "json_object"}
    )
    assert reply.choices[0].message.content


def test_reasoning_whole(client: openai.OpenAI, double) -> None:
    reply = client.chat.completions.create(
        model="claude-haiku-4-5", messages=user("Think first"), reasoning_effort="low"
    )
    message = reply.choices[0].message
    assert message.reasoning_content == "Let me think this through step by step."
    assert message.content.startswith("This is a simulated")
    assert last_converse_body(double)["additionalModelRequestFields"]["thinking"]["type"] == "enabled"


def test_reasoning_streamed(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="claude-haiku-4-5", messages=user("Think"), reasoning_effort="medium", stream=True
        )
    )
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    reasoning = "".join(getattr(d, "reasoning_content", None) or "" for d in deltas)
    assert reasoning == "Let me think this through step by step."
    first_reasoning = next(i for i, d in enumerate(deltas) if getattr(d, "reasoning_content", None))
    first_text = next(i for i, d in enumerate(deltas) if d.content)
    assert first_reasoning < first_text


def test_stop_sequence(client: openai.OpenAI, double) -> None:
    reply = client.chat.completions.create(model="nova-pro", messages=user("Hello world"), stop=["reply"])
    assert reply.choices[0].message.content == "This is a simulated Bedrock "
    assert reply.choices[0].finish_reason == "stop"
    assert last_converse_body(double)["inferenceConfig"]["stopSequences"] == ["reply"]


def test_stop_as_string(client: openai.OpenAI, double) -> None:
    client.chat.completions.create(model="nova-pro", messages=user("Hello"), stop="END")
    assert last_converse_body(double)["inferenceConfig"]["stopSequences"] == ["END"]


def test_max_tokens_gives_length(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="nova-pro", messages=user("Hello"), max_tokens=3)
    assert reply.choices[0].finish_reason == "length"
    assert reply.choices[0].message.content == "This is a"


def test_keepalive_comments_while_first_token_is_slow(make_settings, double) -> None:
    from pennyworth.api.app import create_app
    from tests.support.servers import serve_app

    app = create_app(make_settings(stream_keepalive_seconds=0.1))
    payload = {"model": "nova-pro", "messages": user("[[double:first_token_delay=0.55]] hi"), "stream": True}
    with serve_app(app) as url:
        started = time.monotonic()
        with httpx.stream(
            "POST", f"{url}/v1/chat/completions", json=payload, headers={"Authorization": f"Bearer {API_KEY}"}
        ) as response:
            raw = response.read().decode()
        assert time.monotonic() - started >= 0.5
    events = [e for e in raw.split("\n\n") if e]
    keepalives = [e for e in events if e.startswith(":")]
    assert len(keepalives) >= 3
    first_data = next(i for i, e in enumerate(events) if e.startswith("data: ") and '"content":"This' in e)
    assert all(e.startswith(":") for e in events[1:first_data])
    assert events[-1] == "data: [DONE]"


def test_midstream_failure_ends_with_openai_error_event(gateway_url: str, client: openai.OpenAI) -> None:
    payload = {
        "model": "nova-pro",
        "messages": user(
            "[[double:chunks=10]] [[double:midstream_error=modelStreamErrorException]] [[double:error_after=3]]"
        ),
        "stream": True,
    }
    with httpx.stream(
        "POST",
        f"{gateway_url}/v1/chat/completions",
        json=payload,
        headers={"Authorization": f"Bearer {API_KEY}"},
    ) as response:
        assert response.status_code == 200
        events = [e for e in response.read().decode().split("\n\n") if e]
    contents = [json.loads(e[6:]) for e in events]
    assert [c["choices"][0]["delta"].get("content") for c in contents[1:4]] == ["w0 ", "w1 ", "w2 "]
    error = contents[-1]["error"]
    assert error["type"] == "api_error" and error["code"] == "model_error"
    assert "modelStreamErrorException" in error["message"] or "model failed" in error["message"]
    assert "data: [DONE]" not in events
    # The SDK turns that event into an exception, after the text that did arrive.
    with pytest.raises(openai.APIError):
        list(client.chat.completions.create(model="nova-pro", messages=payload["messages"], stream=True))


def test_client_disconnect_mid_stream_leaves_gateway_healthy(client: openai.OpenAI, double) -> None:
    stream = client.chat.completions.create(
        model="nova-pro", messages=user("[[double:chunks=400]] [[double:chunk_delay=0.005]] go"), stream=True
    )
    for index, _ in enumerate(stream):
        if index == 5:
            break
    stream.close()
    reply = client.chat.completions.create(model="nova-pro", messages=user("still there?"))
    assert reply.choices[0].message.content.endswith("still there?")
