"""The thinking rule (llm/thinking.py) and how a replay reaches Bedrock through today's translation."""

from __future__ import annotations

from typing import Any

from pennyworth.catalog import ConverseFacts, ModelRoute
from pennyworth.llm.bedrock.translate import translate_chat
from pennyworth.llm.thinking import apply_thinking_rule
from pennyworth.llm.types import ChatCall

HAIKU = ModelRoute(
    name="claude-haiku-4-5",
    kind="chat",
    provider="bedrock",
    model_id="us.anthropic.claude-haiku-4-5-20251001-v1:0",
    converse=ConverseFacts(reasoning="budget"),
)
CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
SIGNED = {"type": "thinking", "thinking": "Let me check.", "signature": "c2ln"}
REDACTED = {"type": "redacted_thinking", "data": "b3BhcXVl"}


def tool_loop(assistant_extra: dict[str, Any]) -> ChatCall:
    messages = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [CALL], **assistant_extra},
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny"},
    ]
    return ChatCall(route=HAIKU, messages=messages, params={"tools": TOOLS, "reasoning_effort": "low"})


def test_a_tool_turn_without_signed_reasoning_turns_thinking_off_for_the_call() -> None:
    for extra in (
        {},
        {"reasoning_content": "Let me check."},
        {"thinking_blocks": [{**SIGNED, "signature": ""}]},
    ):
        call = apply_thinking_rule(tool_loop(extra))
        assert "reasoning_effort" not in call.params and call.params["tools"] == TOOLS
        assert all("thinking_blocks" not in m for m in call.messages)
        assert "thinking" not in (translate_chat(call).body.get("additionalModelRequestFields") or {})


def test_signed_and_redacted_reasoning_is_replayed_first_in_its_turn() -> None:
    call = apply_thinking_rule(tool_loop({"thinking_blocks": [SIGNED, REDACTED]}))
    assert call.params["reasoning_effort"] == "low"
    body = translate_chat(call).body
    assert body["additionalModelRequestFields"]["thinking"]["type"] == "enabled"
    assistant = body["messages"][1]["content"]
    assert assistant[0] == {
        "reasoningContent": {"reasoningText": {"text": "Let me check.", "signature": "c2ln"}}
    }
    assert assistant[1] == {"reasoningContent": {"redactedContent": "b3BhcXVl"}}
    assert "toolUse" in assistant[2]


def test_without_thinking_asked_for_nothing_is_replayed() -> None:
    call = tool_loop({"thinking_blocks": [SIGNED]})
    call.params.pop("reasoning_effort")
    ruled = apply_thinking_rule(call)
    assert all("thinking_blocks" not in m for m in ruled.messages)
    assert all(
        "reasoningContent" not in b for m in translate_chat(ruled).body["messages"] for b in m["content"]
    )


def test_a_conversation_without_tool_use_keeps_thinking() -> None:
    call = ChatCall(
        route=HAIKU, messages=[{"role": "user", "content": "hi"}], params={"reasoning_effort": "low"}
    )
    assert apply_thinking_rule(call) is call
