"""The Responses event writer alone: our stream events → the Responses SSE sequence, in order, numbered."""

from __future__ import annotations

import orjson

from pennyworth.api.responses.render import _EventWriter
from pennyworth.api.responses.schemas import ResponsesRequest
from pennyworth.llm.types import (
    Finish,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Usage,
    UsageReport,
)


def _events(frames: list[bytes]) -> list[dict]:
    return [orjson.loads(frame.split(b"\ndata: ", 1)[1]) for frame in frames]


def test_reasoning_text_and_tool_call_in_order() -> None:
    writer = _EventWriter(ResponsesRequest(model="claude-sonnet-5-5", input="hi"))
    frames = writer.start()
    for event in (
        ReasoningDelta(text="think"),
        TextDelta("hello "),
        TextDelta("world"),
        ToolCallStart(index=0, id="call_1", name="lookup"),
        ToolCallDelta(index=0, arguments='{"q":'),
        ToolCallDelta(index=0, arguments='"x"}'),
        Finish("tool_use"),
        UsageReport(Usage(prompt_tokens=3, completion_tokens=4)),
    ):
        frames += writer.write(event)
    events = _events(frames)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    kinds = [e["type"] for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    final = events[-1]["response"]
    assert [item["type"] for item in final["output"]] == ["reasoning", "message", "function_call"]
    assert final["output"][1]["content"][0]["text"] == "hello world"
    assert final["output"][2]["arguments"] == '{"q":"x"}'
    assert final["usage"]["input_tokens"] == 3 and final["usage"]["output_tokens"] == 4
    # every item is added before its deltas and done after them
    added = kinds.index("response.output_item.added")
    assert added < kinds.index("response.reasoning_summary_text.delta")
    assert kinds.count("response.output_item.done") == 3


def test_max_tokens_ends_incomplete() -> None:
    writer = _EventWriter(ResponsesRequest(model="claude-sonnet-5-5", input="hi"))
    frames = writer.start() + writer.write(TextDelta("cut"))
    frames += writer.write(Finish("max_tokens")) + writer.write(UsageReport(Usage()))
    last = _events(frames)[-1]
    assert last["type"] == "response.incomplete"
    assert last["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


def test_empty_reasoning_delta_writes_nothing() -> None:
    writer = _EventWriter(ResponsesRequest(model="claude-sonnet-5-5", input="hi"))
    writer.start()
    assert writer.write(ReasoningDelta(text="")) == []
