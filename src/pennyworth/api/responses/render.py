"""Rendering results in the OpenAI Responses API's shapes: the `response` object and its SSE event sequence.

Streams follow OpenAI's order: `response.created`, `response.in_progress`, then per output item
`response.output_item.added` → its deltas (`response.output_text.delta`,
`response.function_call_arguments.delta`, `response.reasoning_summary_text.delta`) → `...done` events →
`response.output_item.done`, and finally `response.completed` with usage. Each event carries a
`sequence_number`; each is written as soon as the model produced it. A stream that breaks after it began
ends with `response.failed` carrying `response.error` (never a bare `error` event).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson

from pennyworth.api.responses.reasoning import seal
from pennyworth.api.responses.schemas import ResponsesRequest
from pennyworth.api.sse import COMMENT_KEEPALIVE
from pennyworth.api.truncation import warning_comment, warning_field
from pennyworth.errors import GatewayError
from pennyworth.llm.types import (
    ChatResult,
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Truncated,
    Usage,
    UsageReport,
)


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def responses_usage(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": usage.cache_read_tokens},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.total_tokens,
    }


def response_object(
    request: ResponsesRequest,
    response_id: str,
    output: list[dict[str, Any]],
    status: str,
    usage: Usage | None,
) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": request.model,
        "output": output,
        "usage": responses_usage(usage) if usage is not None else None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "error": None,
        "instructions": request.instructions,
        "max_output_tokens": request.max_output_tokens,
        "parallel_tool_calls": request.parallel_tool_calls
        if request.parallel_tool_calls is not None
        else True,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "tool_choice": request.tool_choice or "auto",
        "tools": [tool.model_dump(exclude_none=True) for tool in request.tools or []],
        "text": request.text.model_dump(exclude_none=True, by_alias=True)
        if request.text
        else {"format": {"type": "text"}},
        "reasoning": request.reasoning.model_dump(exclude_none=True) if request.reasoning else None,
        "store": False,
        "metadata": request.metadata or {},
    }


def _message_item(item_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": []}] if status == "completed" else []
    return {"type": "message", "id": item_id, "status": status, "role": "assistant", "content": content}


def _reasoning_item(item_id: str, text: str, blocks: list[dict[str, str]]) -> dict[str, Any]:
    """A reasoning item: the reasoning text as its summary, and (always, whatever `include` says: the gateway
    stores nothing, so this is the only way back) the blocks to replay as `encrypted_content`."""
    item: dict[str, Any] = {
        "type": "reasoning",
        "id": item_id,
        "summary": [{"type": "summary_text", "text": text}] if text else [],
    }
    if blocks:
        item["encrypted_content"] = seal(blocks)
    return item


def _call_item(
    item_id: str, call_id: str, name: str, arguments: str, status: str = "completed"
) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": item_id,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def whole_response(request: ResponsesRequest, result: ChatResult) -> dict[str, Any]:
    output: list[dict[str, Any]] = []
    if result.reasoning or result.thinking_blocks:
        output.append(_reasoning_item(_id("rs"), result.reasoning or "", result.thinking_blocks))
    if result.text or not result.tool_calls:
        output.append(_message_item(_id("msg"), result.text))
    output.extend(_call_item(_id("fc"), c.id, c.name, c.arguments) for c in result.tool_calls)
    status = "incomplete" if result.stop_reason == "max_tokens" else "completed"
    return response_object(request, _id("resp"), output, status, result.usage)


class _EventWriter:
    """Builds the Responses event sequence from our stream events, keeping each open item's state."""

    def __init__(self, request: ResponsesRequest) -> None:
        self.request = request
        self.response_id = _id("resp")
        self.sequence = 0
        self.output: list[dict[str, Any]] = []
        self.open: dict[str, Any] | None = None  # the item being streamed: kind, index, id, text, ...
        self.calls: dict[int, dict[str, Any]] = {}
        self.status = "completed"

    def event(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"

    def start(self) -> list[bytes]:
        snapshot = response_object(self.request, self.response_id, [], "in_progress", None)
        return [
            self.event("response.created", response=snapshot),
            self.event("response.in_progress", response=snapshot),
        ]

    def _close_open(self) -> list[bytes]:
        item, frames = self.open, list[bytes]()
        self.open = None
        if item is None:
            return frames
        index = item["index"]
        if item["kind"] == "message":
            part = {"type": "output_text", "text": item["text"], "annotations": []}
            frames += [
                self.event(
                    "response.output_text.done",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    text=item["text"],
                ),
                self.event(
                    "response.content_part.done",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    part=part,
                ),
            ]
            done = _message_item(item["id"], item["text"])
        elif item["kind"] == "reasoning":
            part = {"type": "summary_text", "text": item["text"]}
            frames += [
                self.event(
                    "response.reasoning_summary_text.done",
                    item_id=item["id"],
                    output_index=index,
                    summary_index=0,
                    text=item["text"],
                ),
                self.event(
                    "response.reasoning_summary_part.done",
                    item_id=item["id"],
                    output_index=index,
                    summary_index=0,
                    part=part,
                ),
            ]
            done = _reasoning_item(item["id"], item["text"], item["blocks"])
        else:
            frames.append(
                self.event(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    output_index=index,
                    arguments=item["text"],
                )
            )
            done = _call_item(item["id"], item["call_id"], item["name"], item["text"])
        self.output.append(done)
        frames.append(self.event("response.output_item.done", output_index=index, item=done))
        return frames

    def _open(self, kind: str, **extra: Any) -> list[bytes]:
        frames = self._close_open()
        prefix = {"message": "msg", "reasoning": "rs", "function_call": "fc"}[kind]
        item = {"kind": kind, "index": len(self.output), "id": _id(prefix), "text": "", **extra}
        if kind == "reasoning":
            item.update(blocks=[], block_text="")
        self.open = item
        if kind == "message":
            frames.append(
                self.event(
                    "response.output_item.added",
                    output_index=item["index"],
                    item=_message_item(item["id"], "", "in_progress"),
                )
            )
            part = {"type": "output_text", "text": "", "annotations": []}
            frames.append(
                self.event(
                    "response.content_part.added",
                    item_id=item["id"],
                    output_index=item["index"],
                    content_index=0,
                    part=part,
                )
            )
        elif kind == "reasoning":
            frames.append(
                self.event(
                    "response.output_item.added",
                    output_index=item["index"],
                    item=_reasoning_item(item["id"], "", []),
                )
            )
            part = {"type": "summary_text", "text": ""}
            frames.append(
                self.event(
                    "response.reasoning_summary_part.added",
                    item_id=item["id"],
                    output_index=item["index"],
                    summary_index=0,
                    part=part,
                )
            )
        else:
            added = _call_item(item["id"], extra["call_id"], extra["name"], "", "in_progress")
            frames.append(self.event("response.output_item.added", output_index=item["index"], item=added))
        return frames

    def _ensure_open(self, kind: str) -> tuple[list[bytes], dict[str, Any]]:
        """The open item of `kind`, opening one (and closing another) when needed, with the frames that takes."""
        frames = [] if self.open and self.open["kind"] == kind else self._open(kind)
        assert self.open is not None
        return frames, self.open

    def _reasoning(self, event: ReasoningDelta) -> list[bytes]:
        """Reasoning text streams as the summary; each completed block (signed, or redacted) is kept for the
        item's `encrypted_content`."""
        if not (event.text or event.signature or event.redacted is not None):
            return []
        frames, item = self._ensure_open("reasoning")
        if event.text:
            item["text"] += event.text
            item["block_text"] += event.text
            frames.append(
                self.event(
                    "response.reasoning_summary_text.delta",
                    item_id=item["id"],
                    output_index=item["index"],
                    summary_index=0,
                    delta=event.text,
                )
            )
        if event.signature:
            block = {"type": "thinking", "thinking": item["block_text"], "signature": event.signature}
            item["blocks"].append(block)
            item["block_text"] = ""
        if event.redacted is not None:
            item["blocks"].append({"type": "redacted_thinking", "data": event.redacted})
        return frames

    def failed(self, error: GatewayError) -> list[bytes]:
        """`response.failed` with `response.error`: how a Responses stream ends when it breaks (Codex reads it)."""
        final = response_object(self.request, self.response_id, self.output, "failed", None)
        final["error"] = {"code": error.code or "server_error", "message": error.message}
        return [self.event("response.failed", response=final)]

    def write(self, event: StreamEvent) -> list[bytes]:
        match event:
            case TextDelta(text=text):
                frames, item = self._ensure_open("message")
                item["text"] += text
                delta = self.event(
                    "response.output_text.delta",
                    item_id=item["id"],
                    output_index=item["index"],
                    content_index=0,
                    delta=text,
                )
                return [*frames, delta]
            case ReasoningDelta():
                return self._reasoning(event)
            case ToolCallStart(index=index, id=call_id, name=name):
                frames = self._open("function_call", call_id=call_id, name=name)
                assert self.open is not None
                self.calls[index] = self.open
                return frames
            case ToolCallDelta(index=index, arguments=arguments):
                item = self.calls[index]
                item["text"] += arguments
                delta = self.event(
                    "response.function_call_arguments.delta",
                    item_id=item["id"],
                    output_index=item["index"],
                    delta=arguments,
                )
                return [delta]
            case Finish(stop_reason=stop_reason):
                self.status = "incomplete" if stop_reason == "max_tokens" else "completed"
                return self._close_open()
            case UsageReport(usage=usage):
                frames = self._close_open()
                final = response_object(self.request, self.response_id, self.output, self.status, usage)
                return [*frames, self.event(f"response.{self.status}", response=final)]
            case Truncated():
                return self._truncated(event)
        return []

    def _truncated(self, event: Truncated) -> list[bytes]:
        """Cut short: a warning comment, open items closed, `response.incomplete` with a `warning` field."""
        frames = [warning_comment(event), *self._close_open()]
        final = response_object(self.request, self.response_id, self.output, "incomplete", event.usage)
        final["warning"] = warning_field(event)
        return [*frames, self.event("response.incomplete", response=final)]


class ResponseEvents:
    """The Responses event sequence as an SSE renderer; a failure after the start ends in `response.failed`."""

    beat = COMMENT_KEEPALIVE

    def __init__(self, request: ResponsesRequest) -> None:
        self._writer = _EventWriter(request)

    def opening(self) -> list[bytes]:
        return self._writer.start()

    def render(self, event: StreamEvent) -> list[bytes]:
        return self._writer.write(event)

    def closing(self) -> list[bytes]:
        return []

    def failure(self, error: GatewayError) -> list[bytes]:
        return self._writer.failed(error)
