"""What the Bedrock double answers to Claude's own format (InvokeModel / InvokeModelWithResponseStream / CountTokens).

Validates like Bedrock: `anthropic_version` must be `bedrock-2023-05-31`, `max_tokens` is required, unknown
top-level fields are refused ("extraneous key"), so are beta flags Bedrock does not know ("invalid beta
flag", also for flags it knows but the model refuses: `fine-grained-tool-streaming-2025-05-14` on Opus 4.7
and later) and messages whose role is not `user` or `assistant` (Claude Code's `system` ones). Thinking
follows Claude's rules as on Converse (`double_rules`): every replayed `thinking` block carries the signature
the double gave its text (`redacted_thinking` the data it produced), and with thinking on, the final assistant
message that uses a tool opens with one. CountTokens validates the InvokeModel body it wraps the same way. Replies reuse `double_script`'s directives (errors, delays, chunks, tools, cache reads).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from pennyworth_dev.double_rules import (
    last_assistant,
    redacted_data,
    redacted_problem,
    sign_thinking,
    signature_problem,
    thinking_first_problem,
)
from pennyworth_dev.double_script import (
    DoubleError,
    directives_in,
    injected_error,
    requested_tool,
    sample_for,
    stream_pieces,
)

ACCEPTED_FIELDS = {
    "anthropic_version",
    "anthropic_beta",
    "max_tokens",
    "messages",
    "system",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "tools",
    "tool_choice",
    "thinking",
}
KNOWN_BETAS = {
    "interleaved-thinking-2025-05-14",
    "fine-grained-tool-streaming-2025-05-14",
    "token-efficient-tools-2025-02-19",
    "output-128k-2025-02-19",
    "context-1m-2025-08-07",
    "dev-full-thinking-2025-05-14",
    "computer-use-2024-10-22",
    "computer-use-2025-01-24",
}
# Flags Bedrock knows but refuses on some models: flag -> markers of the model ids that refuse it.
REFUSED_BETAS = {"fine-grained-tool-streaming-2025-05-14": ("claude-opus-4-7", "-5-5")}


def _beta_accepted(beta: str, model_id: str) -> bool:
    return beta in KNOWN_BETAS and not any(m in model_id for m in REFUSED_BETAS.get(beta, ()))


def is_claude_body(body: dict[str, Any]) -> bool:
    return "anthropic_version" in body


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    out = []
    for block in content or []:
        if block.get("type") == "text":
            out.append(block.get("text", ""))
        elif block.get("type") == "tool_result":
            inner = block.get("content")
            out.extend(_texts(inner) if not isinstance(inner, str) else [inner])
    return out


def validate(body: dict[str, Any], model_id: str) -> None:
    extraneous = sorted(set(body) - ACCEPTED_FIELDS)
    if extraneous:
        raise DoubleError(
            "ValidationException",
            f"Malformed input request: extraneous key [{extraneous[0]}] is not permitted",
        )
    if body.get("anthropic_version") != "bedrock-2023-05-31":
        raise DoubleError("ValidationException", "anthropic_version must be bedrock-2023-05-31")
    if not all(_beta_accepted(beta, model_id) for beta in body.get("anthropic_beta", [])):
        raise DoubleError("ValidationException", "invalid beta flag")
    if not isinstance(body.get("max_tokens"), int):
        raise DoubleError(
            "ValidationException", "Malformed input request: required key [max_tokens] not found"
        )
    messages = body.get("messages") or []
    for index, message in enumerate(messages):
        if message.get("role") not in ("user", "assistant"):
            raise DoubleError(
                "ValidationException", f"messages.{index}.role: Input should be 'user' or 'assistant'"
            )
    if not messages or messages[0].get("role") != "user":
        raise DoubleError("ValidationException", "messages: the first message must use the user role")
    _check_thinking_blocks(messages)
    if (body.get("thinking") or {}).get("type") in ("enabled", "adaptive"):
        _check_thinking_first(messages)
    for message in messages:
        for block in message.get("content") if isinstance(message.get("content"), list) else []:
            if "ttl" in (block.get("cache_control") or {}):
                raise DoubleError("ValidationException", "cache_control.ttl: Extra inputs are not permitted")
            _check_source(block)


def _check_thinking_blocks(messages: list[dict[str, Any]]) -> None:
    """Replayed reasoning must be the double's own: signed thinking text, or redacted data it produced."""
    for m_index, message in enumerate(messages):
        content = message.get("content")
        for b_index, block in enumerate(content if isinstance(content, list) else []):
            where = f"messages.{m_index}.content.{b_index}"
            problem = None
            if block.get("type") == "redacted_thinking":
                problem = redacted_problem(where, str(block.get("data", "")))
            elif block.get("type") == "thinking":
                problem = signature_problem(where, str(block.get("thinking", "")), block.get("signature"))
            if problem is not None:
                raise DoubleError("ValidationException", problem)


def _check_thinking_first(messages: list[dict[str, Any]]) -> None:
    """With thinking on, the final assistant message, if it uses a tool, must open with a reasoning block."""
    final = last_assistant(messages)
    if final is None:
        return
    index, content = final
    if not any(block.get("type") == "tool_use" for block in content):
        return
    found = content[0].get("type", "text")
    if found not in ("thinking", "redacted_thinking"):
        raise DoubleError("ValidationException", thinking_first_problem(index, found))


_SOURCES = {"image": {"base64"}, "document": {"base64", "text", "content"}}


def _check_source(block: dict[str, Any]) -> None:
    """Image and document sources Claude on Bedrock takes: base64 (PDF for documents), plain text, content."""
    kind = block.get("type")
    if kind not in _SOURCES:
        return
    source = block.get("source") or {}
    if source.get("type") not in _SOURCES[kind]:
        raise DoubleError(
            "ValidationException",
            f"messages: {kind}.source.type: Input tag '{source.get('type')}' found using 'type' does not match "
            f"any of the expected tags: {sorted(_SOURCES[kind])}",
        )
    if (
        kind == "document"
        and source.get("type") == "base64"
        and source.get("media_type") != "application/pdf"
    ):
        raise DoubleError(
            "ValidationException", "document.source.media_type: Input should be 'application/pdf'"
        )


def _seen_media(messages: list[dict[str, Any]]) -> str:
    """The echo of image and document blocks the double received (so tests can see what reached Claude)."""
    seen = []
    for message in messages:
        for block in message.get("content") if isinstance(message.get("content"), list) else []:
            source = block.get("source") or {}
            if block.get("type") in _SOURCES:
                size = (
                    len(source.get("data", "")) * 3 // 4
                    if source.get("type") == "base64"
                    else len(source.get("data", ""))
                )
                seen.append(f"{block['type']} {source.get('media_type', source.get('type'))} (~{size} bytes)")
    return "I received: " + "; ".join(seen) + ". " if seen else ""


def reply(body: dict[str, Any], model_id: str) -> dict[str, Any]:
    """The whole Anthropic message for a body (raises DoubleError for injected or invalid cases)."""
    validate(body, model_id)
    last = body["messages"][-1]
    last_texts = _texts(last.get("content"))
    directives = directives_in(" ".join(last_texts))
    if "error" in directives:
        raise injected_error(directives["error"])
    content: list[dict[str, Any]] = []
    if (body.get("thinking") or {}).get("type") in ("enabled", "adaptive"):
        content.append(_reasoning(directives))
    tools = body.get("tools") or []
    choice = body.get("tool_choice") or {}
    stop_reason = "end_turn"
    by_name = {t["name"]: t for t in tools if "name" in t}
    named = requested_tool(list(by_name), directives, lambda n: by_name[n].get("input_schema") or {})
    if named is not None and choice.get("type") != "tool":
        content.append({"type": "tool_use", "id": "toolu_double01", "name": named[0], "input": named[1]})
        stop_reason = "tool_use"
    elif tools and (choice.get("type") in ("any", "tool") or "tool" in directives):
        tool = next((t for t in tools if t["name"] == choice.get("name")), tools[0])
        content.append(
            {
                "type": "tool_use",
                "id": "toolu_double01",
                "name": tool["name"],
                "input": sample_for(tool.get("input_schema") or {}),
            }
        )
        stop_reason = "tool_use"
    else:
        saw_result = isinstance(last.get("content"), list) and any(
            b.get("type") == "tool_result" for b in last["content"]
        )
        if "chunks" in directives:
            text = " ".join(f"w{i}" for i in range(int(directives["chunks"])))
        elif saw_result:
            text = "The tool says: " + " ".join(last_texts)[:200]
        else:
            text = _seen_media(body["messages"]) + "Hello from Claude on the Bedrock double."
        for stop in body.get("stop_sequences") or []:
            if stop in text:
                text, stop_reason = text[: text.index(stop)], "stop_sequence"
                break
        words = text.split(" ")
        if len(words) > body["max_tokens"]:
            text, stop_reason = " ".join(words[: body["max_tokens"]]), "max_tokens"
        content.append({"type": "text", "text": text})
    input_tokens = max(1, sum(len(" ".join(_texts(m.get("content"))).split()) for m in body["messages"]))
    output_tokens = sum(
        len(json.dumps(b).split())
        if b["type"] == "tool_use"
        else len(b.get("text", b.get("thinking", "")).split())
        for b in content
    )
    usage = {"input_tokens": input_tokens, "output_tokens": output_tokens}
    usage["cache_read_input_tokens"] = int(directives.get("cache_read", 0))
    usage["cache_creation_input_tokens"] = 0
    return {
        "id": "msg_bdrk_double01",
        "type": "message",
        "role": "assistant",
        "model": model_id,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
        "_directives": directives,
    }


def _reasoning(directives: dict[str, str]) -> dict[str, Any]:
    """Signed thinking (the double's HMAC of the text), or redacted thinking on `[[double:redacted]]`."""
    if "redacted" in directives:
        return {"type": "redacted_thinking", "data": redacted_data()}
    text = "Let me think this through."
    return {"type": "thinking", "thinking": text, "signature": sign_thinking(text)}


def stream_events(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Anthropic's stream events for a message, as Bedrock wraps them (the last carries Bedrock's metrics)."""
    usage = message["usage"]
    start = {
        **{k: v for k, v in message.items() if not k.startswith("_")},
        "content": [],
        "stop_reason": None,
    }
    start["usage"] = {**usage, "output_tokens": 1}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            events.append(
                {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}
            )
            for piece in stream_pieces(block["text"]):
                events.append(
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "text_delta", "text": piece},
                    }
                )
        elif block["type"] == "thinking":
            events.append(
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "thinking", "thinking": ""},
                }
            )
            for piece in stream_pieces(block["thinking"]):  # they add up to the signed text exactly
                events.append(
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "thinking_delta", "thinking": piece},
                    }
                )
            events.append(
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "signature_delta", "signature": block["signature"]},
                }
            )
        elif block["type"] == "redacted_thinking":  # arrives whole, in its start event
            events.append({"type": "content_block_start", "index": index, "content_block": block})
        else:
            events.append(
                {"type": "content_block_start", "index": index, "content_block": {**block, "input": {}}}
            )
            arguments = json.dumps(block["input"])
            third = max(len(arguments) // 3, 1)
            for i in range(0, len(arguments), third):
                events.append(
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": arguments[i : i + third]},
                    }
                )
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": usage["output_tokens"]},
        }
    )
    metrics = {
        "inputTokenCount": usage["input_tokens"],
        "outputTokenCount": usage["output_tokens"],
        "invocationLatency": 1,
    }
    events.append({"type": "message_stop", "amazon-bedrock-invocationMetrics": metrics})
    return events


def chunk_payload(event: dict[str, Any]) -> bytes:
    return json.dumps({"bytes": base64.b64encode(json.dumps(event).encode()).decode()}).encode()


def count_tokens(model_id: str, body: dict[str, Any]) -> dict[str, int]:
    if model_id.split(".", 1)[0] in ("us", "eu", "global", "apac", "jp", "au"):
        raise DoubleError(
            "ValidationException", "CountTokens takes a foundation model id, not an inference profile"
        )
    inner = json.loads(base64.b64decode(body["input"]["invokeModel"]["body"]))
    validate(inner, model_id)
    if "claude-haiku-4-5" in model_id:  # a model without CountTokens support, for the fallback path
        raise DoubleError("ValidationException", "The provided model doesn't support counting tokens.")
    words = sum(len(" ".join(_texts(m.get("content"))).split()) for m in inner.get("messages", []))
    return {"inputTokens": max(1, words) + len(str(inner.get("system", "")).split())}
