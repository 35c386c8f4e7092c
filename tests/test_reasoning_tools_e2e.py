"""Reasoning + tools round trips against the strict double, with the real openai SDK, whole and streamed.

Claude on Bedrock refuses a thinking-enabled turn whose final assistant tool-use message lacks its signed
reasoning block, and refuses a signature that does not belong to its text (the double does too). These tests
run a tool loop the way clients do: Chat Completions clients that do not send reasoning back (thinking goes
off for that call), Chat Completions clients that echo `thinking_blocks` (replayed), and Responses clients
that replay output items with their `encrypted_content` (replayed, redacted thinking included). The Messages
route passes Claude's blocks through as sent: replays succeed, and a dropped block meets Bedrock's refusal.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest

from tests.conftest import API_KEY

MODEL = "claude-haiku-4-5"
CHAT_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
RESPONSES_TOOL = {"type": "function", **CHAT_TOOL["function"]}


def last_converse_body(double: Any) -> dict[str, Any]:
    return next(body for op, _, body in reversed(double.requests) if op.startswith("converse"))


def thinking_on(body: dict[str, Any]) -> bool:
    return "thinking" in (body.get("additionalModelRequestFields") or {})


def first_turn_chat(client: openai.OpenAI, stream: bool, prompt: str) -> dict[str, Any]:
    """The assistant message of a first, tool-calling turn, as a dict the client would send back."""
    request: dict[str, Any] = {
        "model": MODEL,
        "messages": [{"role": "user", "content": prompt}],
        "tools": [CHAT_TOOL],
        "reasoning_effort": "low",
    }
    if not stream:
        return client.chat.completions.create(**request).choices[0].message.model_dump(exclude_none=True)
    message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [], "thinking_blocks": []}
    for chunk in client.chat.completions.create(**request, stream=True):
        delta = chunk.choices[0].delta if chunk.choices else None
        if delta is None:
            continue
        for call in delta.tool_calls or []:
            if call.id:
                message["tool_calls"].append(
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.function.name, "arguments": ""},
                    }
                )
            message["tool_calls"][call.index]["function"]["arguments"] += call.function.arguments or ""
        message["thinking_blocks"] += (delta.model_extra or {}).get("thinking_blocks") or []
    return message


def tool_result(message: dict[str, Any]) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": message["tool_calls"][0]["id"], "content": "Sunny, 21 C"}


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_chat_client_that_drops_reasoning_gets_an_answer_with_thinking_off(
    client: openai.OpenAI, double: Any, stream: bool
) -> None:
    assistant = first_turn_chat(client, stream, "Weather in Paris? [[double:tool]]")
    assert assistant["tool_calls"]
    sent_back = {k: v for k, v in assistant.items() if k not in ("thinking_blocks", "reasoning_content")}
    messages = [
        {"role": "user", "content": "Weather in Paris? [[double:tool]]"},
        sent_back,
        tool_result(assistant),
    ]
    reply = client.chat.completions.create(
        model=MODEL, messages=messages, tools=[CHAT_TOOL], reasoning_effort="low", stream=stream
    )
    text = (
        "".join(c.choices[0].delta.content or "" for c in reply if c.choices)
        if stream
        else (reply.choices[0].message.content)
    )
    assert text == "The tool says: Sunny, 21 C"
    assert not thinking_on(last_converse_body(double))


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("redacted", [False, True], ids=["signed", "redacted"])
def test_chat_client_that_echoes_thinking_blocks_keeps_thinking_on(
    client: openai.OpenAI, double: Any, stream: bool, redacted: bool
) -> None:
    prompt = "Weather in Paris? [[double:tool]]" + (" [[double:redacted]]" if redacted else "")
    assistant = first_turn_chat(client, stream, prompt)
    (block,) = assistant["thinking_blocks"]
    messages = [{"role": "user", "content": "Weather in Paris?"}, assistant, tool_result(assistant)]
    reply = client.chat.completions.create(
        model=MODEL, messages=messages, tools=[CHAT_TOOL], reasoning_effort="low", stream=stream
    )
    if stream:
        list(reply)
    sent = last_converse_body(double)
    assert thinking_on(sent)
    replayed = sent["messages"][1]["content"]
    if redacted:
        assert block["type"] == "redacted_thinking"
        assert replayed[0]["reasoningContent"] == {"redactedContent": block["data"]}
    else:
        assert block["type"] == "thinking" and block["thinking"] and block["signature"]
        assert replayed[0]["reasoningContent"]["reasoningText"] == {
            "text": block["thinking"],
            "signature": block["signature"],
        }
    assert "toolUse" in replayed[-1]


def responses_first_turn(client: openai.OpenAI, stream: bool, prompt: str) -> list[dict[str, Any]]:
    request: dict[str, Any] = {
        "model": MODEL,
        "input": prompt,
        "tools": [RESPONSES_TOOL],
        "reasoning": {"effort": "low", "summary": "auto"},
        "include": ["reasoning.encrypted_content"],
        "store": False,
    }
    return [item.model_dump(exclude_none=True) for item in create_response(client, request, stream).output]


def create_response(client: openai.OpenAI, request: dict[str, Any], stream: bool) -> Any:
    """The final response object, whole or from the stream's `response.completed`."""
    if not stream:
        return client.responses.create(**request)
    events = list(client.responses.create(**request, stream=True))
    assert events[-1].type == "response.completed"
    return events[-1].response


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("redacted", [False, True], ids=["signed", "redacted"])
def test_responses_replays_reasoning_items_from_encrypted_content(
    client: openai.OpenAI, double: Any, stream: bool, redacted: bool
) -> None:
    prompt = "Weather in Paris? [[double:tool]]" + (" [[double:redacted]]" if redacted else "")
    output = responses_first_turn(client, stream, prompt)
    kinds = [item["type"] for item in output]
    assert kinds == ["reasoning", "function_call"]
    assert output[0]["encrypted_content"] and "Let me think" not in output[0]["encrypted_content"]
    call = output[1]
    follow_up = [
        {"role": "user", "content": prompt},
        *output,
        {"type": "function_call_output", "call_id": call["call_id"], "output": "Sunny, 21 C"},
    ]
    request: dict[str, Any] = {
        "model": MODEL,
        "input": follow_up,
        "tools": [RESPONSES_TOOL],
        "reasoning": {"effort": "low"},
        "store": False,
    }
    assert create_response(client, request, stream).output_text == "The tool says: Sunny, 21 C"
    sent = last_converse_body(double)
    assert thinking_on(sent)
    assistant = sent["messages"][1]["content"]
    assert "reasoningContent" in assistant[0] and "toolUse" in assistant[-1]
    assert ("redactedContent" in assistant[0]["reasoningContent"]) is redacted
    assert json.loads(call["arguments"]) == {"city": "Paris"}


def test_responses_refuses_altered_encrypted_content(client: openai.OpenAI) -> None:
    output = responses_first_turn(client, False, "Weather? [[double:tool]]")
    sealed = output[0]["encrypted_content"]
    output[0]["encrypted_content"] = sealed[:-6] + ("AAAAAA" if not sealed.endswith("AAAAAA") else "BBBBBB")
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model=MODEL,
            input=[{"role": "user", "content": "Weather?"}, *output],
            tools=[RESPONSES_TOOL],
            reasoning={"effort": "low"},
        )
    assert caught.value.body["param"] == "input.1.encrypted_content"
    assert "encrypted_content" in caught.value.body["message"]


def test_responses_reasoning_item_without_encrypted_content_turns_thinking_off(
    client: openai.OpenAI, double: Any
) -> None:
    output = responses_first_turn(client, False, "Weather? [[double:tool]]")
    output[0].pop("encrypted_content")
    call = output[1]
    response = client.responses.create(
        model=MODEL,
        input=[
            {"role": "user", "content": "Weather?"},
            *output,
            {"type": "function_call_output", "call_id": call["call_id"], "output": "Sunny, 21 C"},
        ],
        tools=[RESPONSES_TOOL],
        reasoning={"effort": "low"},
    )
    assert response.output_text == "The tool says: Sunny, 21 C"
    assert not thinking_on(last_converse_body(double))


# --- Messages: Claude's blocks pass through as the client sent them, so Bedrock's rule reaches the client -----

ANTHROPIC_TOOL = {"name": "get_weather", "input_schema": CHAT_TOOL["function"]["parameters"]}


def messages_turns(gateway_url: str, prompt: str, stream: bool) -> tuple[list[dict[str, Any]], Any]:
    """The first turn's conversation as the anthropic SDK hands it back (streamed deltas accumulated)."""
    claude = anthropic.Anthropic(base_url=gateway_url, api_key=API_KEY, max_retries=0, timeout=30)
    request: dict[str, Any] = {
        "model": "claude-sonnet-5-5",
        "max_tokens": 2000,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "tools": [ANTHROPIC_TOOL],
        "messages": [{"role": "user", "content": prompt}],
    }
    if stream:
        with claude.messages.stream(**request) as events:
            first = events.get_final_message()
    else:
        first = claude.messages.create(**request)
    tool_use = first.content[-1]
    assert tool_use.type == "tool_use"
    messages = [
        *request["messages"],
        {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "Sunny"}],
        },
    ]
    return messages, lambda sent: claude.messages.create(**{**request, "messages": sent})


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    "prompt", ["[[double:tool]] Weather?", "[[double:tool]] [[double:redacted]] Weather?"]
)
def test_messages_replay_signed_and_redacted_thinking(gateway_url: str, stream: bool, prompt: str) -> None:
    messages, follow_up = messages_turns(gateway_url, prompt, stream)
    assert messages[1]["content"][0]["type"] == ("redacted_thinking" if "redacted" in prompt else "thinking")
    assert follow_up(messages).stop_reason == "end_turn"  # the double verified the replayed block


def test_messages_tool_turn_without_its_thinking_gets_bedrocks_refusal(gateway_url: str) -> None:
    messages, follow_up = messages_turns(gateway_url, "[[double:tool]] Weather?", stream=True)
    messages[1]["content"] = messages[1]["content"][1:]  # a client that dropped the thinking block
    with pytest.raises(anthropic.BadRequestError) as caught:
        follow_up(messages)
    error = caught.value.body["error"]
    assert error["type"] == "invalid_request_error"
    assert "Expected `thinking` or `redacted_thinking`, but found `tool_use`" in error["message"]
