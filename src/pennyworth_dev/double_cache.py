"""The Bedrock double's prompt cache: Converse `cachePoint` rules, and cache reads and writes like Bedrock's.

Bedrock reads a request's prefix in the order tools → system → messages. Each `cachePoint` block marks the end
of a prefix that can be cached. The double refuses what Bedrock refuses — more than four cache points, a
cache point `type` other than `default`, a `ttl` the model does not support, and a TTL that increases from an
earlier cache point to a later one (a `1h` point after a `5m` point) — and then caches like Bedrock: the
longest marked prefix already written (same model, same bytes, within its TTL) is read, and the tokens from
there to the last marked prefix are written, unless that prefix is shorter than the model's minimum.

Claude's own format (InvokeModel) is read the same way: `cache_control` on a tool, system or message block
marks the prefix that ends with that block. Tokens are the double's own count (words of text, tool specs and tool inputs/results). The cache lives in the
double's process, keyed by a hash of the model id and the prefix up to each cache point.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pennyworth_dev.double_script import DoubleError

MAX_CACHE_POINTS = 4
_TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


@dataclass(frozen=True)
class CacheRules:
    """What Bedrock says about caching on one model: the shortest cacheable prefix and the TTLs it takes."""

    min_tokens: int
    ttls: frozenset[str]
    tools: bool = True  # Nova takes cache points in system and messages only


# Bedrock's facts, by model-id fragment (first match wins); models not listed do not cache.
_RULES_BY_MODEL: tuple[tuple[str, CacheRules], ...] = (
    ("claude-haiku-4-5", CacheRules(4096, frozenset({"5m", "1h"}))),
    ("claude-haiku-5-5", CacheRules(4096, frozenset({"5m", "1h"}))),
    ("claude-opus-4-5", CacheRules(4096, frozenset({"5m", "1h"}))),
    ("claude-opus-5-5", CacheRules(4096, frozenset({"5m", "1h"}))),
    ("claude-sonnet-4-5", CacheRules(1024, frozenset({"5m", "1h"}))),
    ("claude-sonnet-4-6", CacheRules(1024, frozenset({"5m", "1h"}))),
    ("claude-sonnet-5-5", CacheRules(1024, frozenset({"5m", "1h"}))),
    ("claude-3-7-sonnet", CacheRules(1024, frozenset({"5m"}))),
    ("nova-pro", CacheRules(1000, frozenset({"5m"}), tools=False)),
    ("nova-lite", CacheRules(1000, frozenset({"5m"}), tools=False)),
)


def rules_for(model_id: str) -> CacheRules | None:
    return next((rules for fragment, rules in _RULES_BY_MODEL if fragment in model_id), None)


@dataclass(frozen=True)
class Mark:
    """One cache point: the prefix's digest, its length in tokens, and its TTL."""

    digest: str
    tokens: int
    ttl: str


@dataclass(frozen=True)
class CacheUsage:
    """What Bedrock reports for one request: prompt tokens in all, and how many were read from / written to
    the cache (`marked`: the request had cache points, so the cache fields appear in its usage)."""

    total: int
    read: int = 0
    write: int = 0
    marked: bool = False
    write_by_ttl: tuple[tuple[str, int], ...] = ()  # Bedrock's `cacheDetails`: 1h before 5m, none if no write


def _tokens(value: Any) -> int:
    """The double's token count of one block: words of its text, or of its JSON for structured blocks."""
    if isinstance(value, dict) and set(value) == {"text"}:
        return len(str(value["text"]).split())
    return len(json.dumps(value, sort_keys=True).split())


def _converse_items(body: dict[str, Any]) -> Iterator[tuple[str, Any, dict[str, Any] | None]]:
    """(section, block, cache point) in Bedrock's prefix order for a Converse body: a `cachePoint` block is
    a point of its own."""
    sections = [
        ("tools", (body.get("toolConfig") or {}).get("tools") or []),
        ("system", body.get("system") or []),
    ]
    sections += [
        (f"messages:{m.get('role', '')}", m.get("content") or []) for m in body.get("messages") or []
    ]
    for section, blocks in sections:
        for block in blocks:
            point = block.get("cachePoint") if isinstance(block, dict) else None
            yield (section, None, point) if point is not None else (section, block, None)


def _claude_items(body: dict[str, Any]) -> Iterator[tuple[str, Any, dict[str, Any] | None]]:
    """The same for Claude's own format: `cache_control` on a block marks the prefix that ends with it."""
    system = body.get("system") or []
    sections: list[tuple[str, list[Any]]] = [
        ("tools", body.get("tools") or []),
        ("system", [{"text": system}] if isinstance(system, str) else system),
    ]
    for message in body.get("messages") or []:
        content = message.get("content")
        blocks: list[Any] = [{"text": content}] if isinstance(content, str) else content or []
        sections.append((f"messages:{message.get('role', '')}", blocks))
    for section, items in sections:
        for block in items:
            if not isinstance(block, dict):
                yield section, block, None
                continue
            control: dict[str, Any] | None = block.get("cache_control")
            yield section, {k: v for k, v in block.items() if k != "cache_control"}, None
            if control is not None:
                kind = "default" if control.get("type") == "ephemeral" else control.get("type")
                yield section, None, {"type": kind, **({"ttl": control["ttl"]} if "ttl" in control else {})}


def marks(model_id: str, body: dict[str, Any]) -> tuple[list[Mark], int]:
    """The cache points of a Converse or Claude body (refused as Bedrock refuses them), and its total tokens."""
    items = _claude_items(body) if "anthropic_version" in body else _converse_items(body)
    found: list[Mark] = []
    digest = hashlib.sha256(model_id.encode())
    total = 0
    rules = rules_for(model_id)
    for section, block, point in items:
        if point is None:
            digest.update(section.encode() + json.dumps(block, sort_keys=True).encode())
            total += _tokens(block)
            continue
        if section == "tools" and rules is not None and not rules.tools:
            raise DoubleError(
                "ValidationException", f"The model {model_id} does not support cache points in tools."
            )
        found.append(Mark(digest.hexdigest(), total, _checked_ttl(model_id, point, found)))
    if len(found) > MAX_CACHE_POINTS:
        raise DoubleError(
            "ValidationException",
            f"A maximum of {MAX_CACHE_POINTS} cache points may be provided per request. Found {len(found)}.",
        )
    return found, total


def _checked_ttl(model_id: str, point: dict[str, Any], earlier: list[Mark]) -> str:
    if point.get("type") != "default" or set(point) - {"type", "ttl"}:
        raise DoubleError("ValidationException", "cachePoint: type must be 'default' (ttl is optional).")
    ttl = str(point.get("ttl", "5m"))
    rules = rules_for(model_id)
    if ttl not in _TTL_SECONDS or (rules is not None and ttl not in rules.ttls):
        raise DoubleError("ValidationException", f"The model {model_id} does not support cache TTL {ttl!r}.")
    if any(_TTL_SECONDS[ttl] > _TTL_SECONDS[mark.ttl] for mark in earlier):
        raise DoubleError(
            "ValidationException",
            f"A cache point with ttl='{ttl}' must not come after a cache point with a shorter ttl "
            "(TTLs may not increase from tools to system to messages).",
        )
    return ttl


class PromptCache:
    """Written prefixes, by digest, until their TTL runs out (a read refreshes it). Thread-safe."""

    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def apply(self, model_id: str, body: dict[str, Any]) -> CacheUsage:
        """Read and write `body`'s marked prefixes; what Bedrock would report (raises DoubleError if refused)."""
        found, total = marks(model_id, body)
        rules = rules_for(model_id)
        if not found or rules is None:
            return CacheUsage(total=total, marked=bool(found))
        now = time.monotonic()
        with self._lock:
            read = 0
            for mark in found:
                if self._expiry.get(mark.digest, 0.0) > now:
                    read = mark.tokens
                    self._expiry[mark.digest] = now + _TTL_SECONDS[mark.ttl]
            cacheable = [mark for mark in found if mark.tokens >= rules.min_tokens]
            for mark in cacheable:
                expiry = now + _TTL_SECONDS[mark.ttl]
                self._expiry[mark.digest] = max(self._expiry.get(mark.digest, 0.0), expiry)
        by_ttl: dict[str, int] = {}
        written_to = read
        for (
            mark
        ) in cacheable:  # each stretch past what was read is written with the TTL of the point ending it
            if mark.tokens > written_to:
                by_ttl[mark.ttl] = by_ttl.get(mark.ttl, 0) + mark.tokens - written_to
                written_to = mark.tokens
        details = tuple(sorted(by_ttl.items(), key=lambda item: -_TTL_SECONDS[item[0]]))
        return CacheUsage(total=total, read=read, write=written_to - read, marked=True, write_by_ttl=details)

    def clear(self) -> None:
        with self._lock:
            self._expiry.clear()
