"""Reading Bedrock Converse output: whole responses and stream events → our neutral types."""

from __future__ import annotations

import json

from pennyworth.llm.bedrock.converse import StreamTranslator, converse_usage, result_from_converse
from pennyworth.llm.types import Finish, ReasoningDelta, TextDelta, ToolCallDelta, ToolCallStart, UsageReport


def dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def test_usage_includes_cache_in_prompt_tokens() -> None:
    usage = converse_usage(
        {"inputTokens": 10, "outputTokens": 5, "cacheReadInputTokens": 100, "cacheWriteInputTokens": 7}
    )
    assert (usage.prompt_tokens, usage.completion_tokens, usage.cache_read_tokens, usage.total_tokens) == (
        117,
        5,
        100,
        122,
    )


def test_whole_response_with_reasoning_text_and_tools() -> None:
    body = {
        "output": {
            "message": {
                "content": [
                    {"reasoningContent": {"reasoningText": {"text": "hmm", "signature": "sig"}}},
                    {"text": "Let me check. "},
                    {"toolUse": {"toolUseId": "t1", "name": "lookup", "input": {"q": "x"}}},
                ]
            }
        },
        "stopReason": "tool_use",
        "usage": {"inputTokens": 3, "outputTokens": 4},
    }
    result = result_from_converse(body, json_mode=False, dumps=dumps)
    assert (
        result.text == "Let me check. " and result.reasoning == "hmm" and result.reasoning_signature == "sig"
    )
    assert [(c.id, c.name, c.arguments) for c in result.tool_calls] == [("t1", "lookup", '{"q":"x"}')]
    assert result.stop_reason == "tool_use"


def test_json_mode_tool_becomes_text() -> None:
    body = {
        "output": {
            "message": {
                "content": [{"toolUse": {"toolUseId": "t", "name": "json_tool_call", "input": {"a": 1}}}]
            }
        },
        "stopReason": "tool_use",
    }
    result = result_from_converse(body, json_mode=True, dumps=dumps)
    assert result.text == '{"a":1}' and result.tool_calls == [] and result.stop_reason == "end_turn"


def test_filtered_stop_reasons() -> None:
    for reason in ("content_filtered", "guardrail_intervened"):
        assert (
            result_from_converse({"stopReason": reason}, json_mode=False, dumps=dumps).stop_reason
            == "content_filter"
        )


def test_stream_translation() -> None:
    translator = StreamTranslator(json_mode=False)
    events = [
        ("messageStart", {"role": "assistant"}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "think"}}}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "s"}}}),
        ("contentBlockStop", {"contentBlockIndex": 0}),
        ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "Hi"}}),
        (
            "contentBlockStart",
            {"contentBlockIndex": 2, "start": {"toolUse": {"toolUseId": "a", "name": "f"}}},
        ),
        ("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": '{"x"'}}}),
        (
            "contentBlockStart",
            {"contentBlockIndex": 3, "start": {"toolUse": {"toolUseId": "b", "name": "g"}}},
        ),
        ("contentBlockDelta", {"contentBlockIndex": 3, "delta": {"toolUse": {"input": "{}"}}}),
        ("messageStop", {"stopReason": "tool_use"}),
        ("metadata", {"usage": {"inputTokens": 1, "outputTokens": 2}}),
    ]
    out = [translator.translate(t, p) for t, p in events]
    assert out == [
        None,
        ReasoningDelta(text="think"),
        ReasoningDelta(text="", signature="s"),
        None,
        TextDelta("Hi"),
        ToolCallStart(index=0, id="a", name="f"),
        ToolCallDelta(index=0, arguments='{"x"'),
        ToolCallStart(index=1, id="b", name="g"),
        ToolCallDelta(index=1, arguments="{}"),
        Finish("tool_use"),
        out[-1],
    ]
    assert isinstance(out[-1], UsageReport) and out[-1].usage.total_tokens == 3


def test_stream_json_mode() -> None:
    translator = StreamTranslator(json_mode=True)
    start = {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "j", "name": "json_tool_call"}}}
    assert translator.translate("contentBlockStart", start) is None
    delta = {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '{"a":'}}}
    assert translator.translate("contentBlockDelta", delta) == TextDelta('{"a":')
    assert translator.translate("messageStop", {"stopReason": "tool_use"}) == Finish("end_turn")
