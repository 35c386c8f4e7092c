"""OpenAI chat messages → Converse `system` blocks and alternating `messages`.

Leading system (and developer) messages become `system`; a system message later in the conversation is kept
as user text where it stands. User parts become text, image, document and video blocks; tool messages become
`toolResult` blocks in a user turn; assistant messages replay their `thinking_blocks` (LiteLLM's convention:
`thinking` with its signature, `redacted_thinking` with its data) as `reasoningContent`, then their text, then
their `toolUse` blocks. Consecutive turns of one role are merged, as Converse requires alternation. A part or
message marked with `cache_control` is followed by a `cachePoint` when the model caches prompts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pennyworth.errors import InvalidRequest
from pennyworth.llm.bedrock.media import file_block, image_block

Block = dict[str, Any]
Message = dict[str, Any]
_SYSTEM_ROLES = ("system", "developer")
_UNSAFE_TOOL_ID = re.compile(r"[^a-zA-Z0-9_-]")


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """Whether `cache_control` marks become `cachePoint` blocks, and whether their `ttl` is kept."""

    enabled: bool
    ttl: bool

    def point(self, marked: Any) -> Block | None:
        """The cachePoint for a part or message carrying `cache_control` (None when unmarked or disabled)."""
        control = marked.get("cache_control") if isinstance(marked, dict) else None
        if control is None or not self.enabled:
            return None
        point: dict[str, str] = {"type": "default"}
        ttl = control.get("ttl") if isinstance(control, dict) else None
        if self.ttl and ttl in ("5m", "1h"):
            point["ttl"] = ttl
        return {"cachePoint": point}


def system_and_messages(messages: list[Message], cache: CachePolicy) -> tuple[list[Block], list[Message]]:
    """The Converse `system` blocks and `messages` for an OpenAI conversation."""
    leading = next((i for i, m in enumerate(messages) if m.get("role") not in _SYSTEM_ROLES), len(messages))
    system: list[Block] = []
    for message in messages[:leading]:
        system.extend(_text_blocks(message, cache))
    turns: list[Message] = []
    for index, message in enumerate(messages[leading:], start=leading):
        role, blocks = _converted(message, index, cache)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        turn["content"] = _ordered(turn["content"], turn["role"])
    return system, turns


def _converted(message: Message, index: int, cache: CachePolicy) -> tuple[str, list[Block]]:
    role = message.get("role")
    if role in _SYSTEM_ROLES:
        return "user", _text_blocks(message, cache)
    if role == "user":
        return "user", _user_blocks(message, index, cache)
    if role == "tool":
        return "user", _tool_result_blocks(message, index, cache)
    if role == "assistant":
        return "assistant", _assistant_blocks(message, index, cache)
    raise InvalidRequest(f"Unsupported message role '{role}'.", param=f"messages.{index}.role")


def _parts(content: Any) -> list[Any]:
    """A message's content as a list of parts (a plain string is one text part)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return list(content)


def _text_blocks(message: Message, cache: CachePolicy) -> list[Block]:
    """Text parts (blank ones dropped: Converse refuses them), each followed by its cachePoint if marked."""
    blocks: list[Block] = []
    content = message.get("content")
    for part in _parts(content):
        if part.get("type") == "text" and str(part.get("text", "")).strip():
            blocks.append({"text": part["text"]})
            _append_point(blocks, cache.point(part))
    if isinstance(content, str) and blocks:
        _append_point(blocks, cache.point(message))
    return blocks


def _user_blocks(message: Message, index: int, cache: CachePolicy) -> list[Block]:
    content = message.get("content")
    if isinstance(content, str):
        return _text_blocks(message, cache)
    blocks: list[Block] = []
    for p_index, part in enumerate(_parts(content)):
        param = f"messages.{index}.content.{p_index}"
        kind = part.get("type")
        if kind == "text":
            if not str(part.get("text", "")).strip():
                continue
            blocks.append({"text": part["text"]})
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url", "") if isinstance(image, dict) else str(image or "")
            blocks.append(image_block(url, f"{param}.image_url.url"))
        elif kind == "file":
            blocks.append(file_block(part.get("file") or {}, f"{param}.file"))
        else:
            raise InvalidRequest(f"Unsupported content part type '{kind}'.", param=f"{param}.type")
        _append_point(blocks, cache.point(part))
    return blocks


def _tool_result_blocks(message: Message, index: int, cache: CachePolicy) -> list[Block]:
    content: list[Block] = []
    for p_index, part in enumerate(_parts(message.get("content"))):
        if part.get("type") == "text":
            content.append({"text": part.get("text", "")})
        elif part.get("type") == "image_url":
            url = (part.get("image_url") or {}).get("url", "")
            content.append(image_block(url, f"messages.{index}.content.{p_index}.image_url.url"))
    result = {"toolResult": {"toolUseId": tool_use_id(message.get("tool_call_id", "")), "content": content}}
    blocks: list[Block] = [result]
    marked = [message, *(p for p in _parts(message.get("content")) if isinstance(p, dict))]
    point = next((p for p in (cache.point(m) for m in marked) if p is not None), None)
    _append_point(blocks, point)
    return blocks


def _assistant_blocks(message: Message, index: int, cache: CachePolicy) -> list[Block]:
    blocks: list[Block] = list(reasoning_blocks(message.get("thinking_blocks") or []))
    content = message.get("content")
    for part in _parts(content):
        if part.get("type") == "thinking":
            blocks.extend(reasoning_blocks([part]))
            continue
        if part.get("type") == "text" and str(part.get("text", "")).strip():
            blocks.append({"text": part["text"]})
        if not isinstance(content, str):
            _append_point(blocks, cache.point(part))
    if isinstance(content, str):
        _append_point(blocks, cache.point(message))
    for t_index, call in enumerate(message.get("tool_calls") or []):
        blocks.append(_tool_use(call, f"messages.{index}.tool_calls.{t_index}"))
    return blocks


def reasoning_blocks(thinking_blocks: Iterable[Any]) -> Iterable[Block]:
    """LiteLLM's `thinking_blocks` → `reasoningContent` blocks, signatures and redacted data kept verbatim.

    A thinking block without a signature cannot be verified by the model, so it is replayed as plain text.
    """
    for block in thinking_blocks:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "redacted_thinking":
            yield {"reasoningContent": {"redactedContent": block.get("data", "")}}
        elif block.get("signature"):
            text = {"text": block.get("thinking") or "", "signature": block["signature"]}
            yield {"reasoningContent": {"reasoningText": text}}
        elif str(block.get("thinking") or "").strip():
            yield {"text": block["thinking"]}


def _tool_use(call: dict[str, Any], param: str) -> Block:
    function = call.get("function") or {}
    name = function.get("name")
    if not name:
        raise InvalidRequest("A tool call needs a function name.", param=f"{param}.function.name")
    arguments = function.get("arguments") or ""
    try:
        parsed = json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError:
        parsed = {}
    return {
        "toolUse": {
            "toolUseId": tool_use_id(call.get("id", "")),
            "name": name,
            "input": parsed if isinstance(parsed, dict) else {},
        }
    }


def tool_use_id(raw: str) -> str:
    """A tool call id in the characters Converse accepts (OpenAI-style `call_...` ids pass unchanged)."""
    return _UNSAFE_TOOL_ID.sub("_", raw) or "tool_call"


def _append_point(blocks: list[Block], point: Block | None) -> None:
    if point is not None and blocks:
        blocks.append(point)


def _ordered(blocks: list[Block], role: str) -> list[Block]:
    """A merged turn in the order Converse wants: tool results first in a user turn; reasoning, then text,
    then tool uses in an assistant turn (a cachePoint stays behind the block it follows). Repeated tool ids
    keep their first occurrence."""
    groups: list[list[Block]] = []
    for block in blocks:
        if "cachePoint" in block and groups:
            groups[-1].append(block)
        else:
            groups.append([block])
    seen: set[str] = set()
    kept: list[list[Block]] = []
    for group in groups:
        head = group[0]
        tool_id = (head.get("toolUse") or head.get("toolResult") or {}).get("toolUseId")
        if tool_id is not None:
            if tool_id in seen:
                continue
            seen.add(tool_id)
        kept.append(group)
    kept.sort(key=lambda group: _rank(group[0], role))
    return [block for group in kept for block in group]


def _rank(block: Block, role: str) -> int:
    if role == "user":
        return 0 if "toolResult" in block else 1
    if "reasoningContent" in block:
        return 0
    return 2 if "toolUse" in block else 1
