"""Automatic prompt caching: cache points placed on a Converse request body at its stable boundaries.

Bedrock caches nothing unless a request carries `cachePoint` blocks, and OpenAI-shaped clients never send
them. This pass runs over the Converse body after translation (it reads only Bedrock's shape, whoever built
it) and marks, in Bedrock's prefix order tools → system → messages:

- the end of the tools and the end of the system prompt (the same on every turn of a conversation);
- the end of the conversation before the newest turn (written now, read on the next turn), and the same
  boundary one turn earlier (what the previous turn wrote, read now).

With `through_newest_turn` (the client named a conversation with `prompt_cache_key`, so the next request
extends this one) the message boundaries move one message later: the newest turn is cached too.
A boundary is marked only when the prefix up to it is long enough for the model to cache (an estimate of
four characters per token), never beyond Bedrock's four cache points, and all with one TTL. A body the client
already marked is returned as it is: the client manages its own caching.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from pennyworth.catalog import PromptCacheSpec

MAX_CACHE_POINTS = 4
_CHARS_PER_TOKEN = 4


@dataclass(frozen=True, slots=True)
class CachePlan:
    """How to mark one request: the model's shortest cacheable prefix, the TTL, and where points may go."""

    min_tokens: int
    ttl: str | None = None  # None: Bedrock's default (5 minutes)
    tools: bool = True  # the model takes a cache point after the tools
    through_newest_turn: bool = False


def plan_for(
    spec: PromptCacheSpec | None, *, enabled: bool, ttl: str, conversation_named: bool
) -> CachePlan | None:
    """The plan for a model (None when it does not cache, or caching is off): the operator's TTL where the
    model takes it, else Bedrock's default; a named conversation (`prompt_cache_key`) caches its newest turn."""
    if spec is None or not enabled:
        return None
    return CachePlan(
        min_tokens=spec.min_tokens,
        ttl=ttl if ttl != "5m" and ttl in spec.ttls else None,
        tools=spec.tools,
        through_newest_turn=conversation_named,
    )


def _estimate(blocks: list[Any]) -> int:
    """Tokens in some blocks, estimated from their size (text by its length, anything else by its JSON)."""
    chars = 0
    for block in blocks:
        text = block.get("text") if isinstance(block, dict) else None
        chars += len(text) if isinstance(text, str) else len(orjson.dumps(block))
    return chars // _CHARS_PER_TOKEN


def has_cache_points(body: dict[str, Any]) -> bool:
    """Whether the body already carries a cache point anywhere (the client's own)."""
    sections = [(body.get("toolConfig") or {}).get("tools") or [], body.get("system") or []]
    sections += [message.get("content") or [] for message in body.get("messages") or []]
    return any(isinstance(block, dict) and "cachePoint" in block for blocks in sections for block in blocks)


def _message_boundaries(count: int, through_newest_turn: bool) -> list[int]:
    """Indices of the messages whose end is a boundary: before the newest turn, now and one turn earlier."""
    last = count - 1 if through_newest_turn else count - 2
    return [index for index in (last - 2, last) if index >= 0]


def place_cache_points(body: dict[str, Any], plan: CachePlan) -> dict[str, Any]:
    """The body with automatic cache points added (a new dict; the input is not changed)."""
    if has_cache_points(body):
        return body
    point = {"cachePoint": {"type": "default", **({"ttl": plan.ttl} if plan.ttl else {})}}
    placed = 0
    prefix = 0
    result = dict(body)

    def worth_a_point() -> bool:
        return placed < MAX_CACHE_POINTS and prefix >= plan.min_tokens

    tool_config = body.get("toolConfig") or {}
    tools = tool_config.get("tools") or []
    prefix += _estimate(tools)
    if tools and plan.tools and worth_a_point():
        result["toolConfig"] = {**tool_config, "tools": [*tools, point]}
        placed += 1
    system = body.get("system") or []
    prefix += _estimate(system)
    if system and worth_a_point():
        result["system"] = [*system, point]
        placed += 1
    messages = list(body.get("messages") or [])
    boundaries = set(_message_boundaries(len(messages), plan.through_newest_turn))
    for index, message in enumerate(messages):
        if index > max(boundaries, default=-1):
            break
        content = message.get("content") or []
        prefix += _estimate(content)
        if index in boundaries and worth_a_point():
            messages[index] = {**message, "content": [*content, point]}
            placed += 1
    result["messages"] = messages
    return result
