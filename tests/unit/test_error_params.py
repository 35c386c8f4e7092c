"""Validation error locations → the dotted `param` the error envelope names, found by following the location
through the body that was sent (union branch labels pydantic adds are not in it)."""

from __future__ import annotations

from pennyworth.api.errors import _param_path


def test_body_prefix_and_union_branches_are_dropped() -> None:
    body = {"messages": [{"role": "user", "content": 5}]}
    loc = ("body", "messages", 0, "user", "content", "function-after[check(), str]")
    assert _param_path(loc, body, missing=False) == "messages.0.content"


def test_tag_that_is_also_a_field_name_is_kept_only_where_the_body_has_it() -> None:
    chat_tool = {"tools": [{"type": "function", "function": {"name": "a.b"}}]}
    responses_tool = {"tools": [{"type": "function", "name": "a.b"}]}
    assert _param_path(("body", "tools", 0, "function", "name"), chat_tool, False) == "tools.0.function.name"
    assert _param_path(("body", "tools", 0, "function", "name"), responses_tool, False) == "tools.0.name"


def test_a_missing_field_is_named() -> None:
    body = {"input": [{"type": "function_call", "name": "f"}]}
    loc = ("body", "input", "list[...]", 0, "function_call", "call_id")
    assert _param_path(loc, body, missing=True) == "input.0.call_id"


def test_plain_locations() -> None:
    assert _param_path(("body", "max_tokens"), {"max_tokens": "x"}, False) == "max_tokens"
    assert _param_path(("query", "limit"), {}, True) == "limit"
    assert _param_path((), {}, False) == ""
