"""Automatic cache points: where the pass puts them on a Converse body, and where it does not."""

from __future__ import annotations

from typing import Any

from pennyworth.llm.bedrock.cache_points import CachePlan, has_cache_points, place_cache_points

POINT = {"cachePoint": {"type": "default"}}
LONG = "word " * 1200  # ~1500 estimated tokens
TOOLS = {"tools": [{"toolSpec": {"name": "shell", "description": LONG, "inputSchema": {"json": {}}}}]}


def _conversation(turns: int) -> list[dict[str, Any]]:
    return [
        {"role": "user" if i % 2 == 0 else "assistant", "content": [{"text": f"turn {i} " + "x " * 50}]}
        for i in range(turns)
    ]


def _points(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in blocks if "cachePoint" in b]


def test_marks_tools_system_and_the_conversation_before_the_newest_turn() -> None:
    body = {"toolConfig": TOOLS, "system": [{"text": LONG}], "messages": _conversation(7)}
    marked = place_cache_points(body, CachePlan(min_tokens=1024))
    assert marked["toolConfig"]["tools"][-1] == POINT
    assert marked["system"][-1] == POINT
    ends = [i for i, m in enumerate(marked["messages"]) if m["content"][-1] == POINT]
    assert ends == [3, 5]  # one turn earlier (read now), and just before the newest turn (written now)
    assert not has_cache_points(body)  # the input is left as it was


def test_never_more_than_four_and_one_ttl() -> None:
    body = {"toolConfig": TOOLS, "system": [{"text": LONG}], "messages": _conversation(21)}
    marked = place_cache_points(body, CachePlan(min_tokens=1, ttl="1h"))
    every = (
        _points(marked["toolConfig"]["tools"])
        + _points(marked["system"])
        + [b for m in marked["messages"] for b in _points(m["content"])]
    )
    assert len(every) == 4 and {p["cachePoint"]["ttl"] for p in every} == {"1h"}


def test_a_prefix_shorter_than_the_minimum_gets_no_point() -> None:
    body = {"system": [{"text": "be brief"}], "messages": _conversation(5)}
    assert not has_cache_points(place_cache_points(body, CachePlan(min_tokens=1024)))


def test_points_start_where_the_prefix_becomes_long_enough() -> None:
    body = {
        "system": [{"text": "be brief"}],
        "messages": [{"role": "user", "content": [{"text": LONG}]}, *_conversation(4)[1:]],
    }
    marked = place_cache_points(body, CachePlan(min_tokens=1024))
    assert "cachePoint" not in marked["system"][-1]
    assert [i for i, m in enumerate(marked["messages"]) if m["content"][-1] == POINT] == [0, 2]


def test_what_the_client_marked_is_kept_as_it_is() -> None:
    body = {"system": [{"text": LONG}, POINT], "messages": _conversation(5)}
    assert place_cache_points(body, CachePlan(min_tokens=1)) is body


def test_models_without_tool_cache_points_get_none_there() -> None:
    body = {"toolConfig": TOOLS, "system": [{"text": "hi"}], "messages": _conversation(1)}
    marked = place_cache_points(body, CachePlan(min_tokens=1024, tools=False))
    assert not _points(marked["toolConfig"]["tools"])
    assert marked["system"][-1] == POINT  # tools + system is long enough: the system's end is marked instead


def test_a_named_conversation_caches_through_the_newest_turn() -> None:
    body = {"system": [{"text": LONG}], "messages": _conversation(5)}
    marked = place_cache_points(body, CachePlan(min_tokens=1024, through_newest_turn=True))
    assert [i for i, m in enumerate(marked["messages"]) if m["content"][-1] == POINT] == [2, 4]
