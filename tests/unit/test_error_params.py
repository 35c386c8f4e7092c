"""Validation error locations → the dotted `param` the error envelope names."""

from __future__ import annotations

from pennyworth.api.errors import _param_path


def test_body_prefix_and_union_branches_are_dropped() -> None:
    loc = ("body", "messages", 0, "user", "content", "function-after[check(), str]")
    assert _param_path(loc) == "messages.0.user.content"


def test_plain_locations() -> None:
    assert _param_path(("body", "max_tokens")) == "max_tokens"
    assert _param_path(("query", "limit")) == "limit"
    assert _param_path(()) == ""
