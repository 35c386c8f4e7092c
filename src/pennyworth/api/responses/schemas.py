"""OpenAI Responses API request shapes (pydantic), and the conversion of a request into a chat call.

Codex CLI speaks only this API: message items with `input_text` parts and a `developer` role,
`function_call` / `function_call_output` items on later turns, `store: false`, `include`, `prompt_cache_key`,
`parallel_tool_calls`, `reasoning: {effort, summary}`. All are accepted; `prompt_cache_key` tells automatic
prompt caching the conversation continues; what Bedrock has no use for (include, summary style) is ignored.
Earlier `reasoning` items are replayed from their `encrypted_content` (see `reasoning`). The gateway is
stateless: `previous_response_id` and an explicit `store: true` are refused with a clear 400.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pennyworth.api.responses.reasoning import replayed_blocks
from pennyworth.errors import InvalidRequest


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class FunctionTool(_Open):
    type: Literal["function"]
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Reasoning(_Open):
    effort: Literal["minimal", "low", "medium", "high"] | None = None
    summary: str | None = None


class TextFormat(_Open):
    type: Literal["text", "json_object", "json_schema"] = "text"
    name: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class TextConfig(_Open):
    format: TextFormat | None = None


class ResponsesRequest(_Open):
    model: str = Field(min_length=1)
    input: str | list[dict[str, Any]]
    instructions: str | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    reasoning: Reasoning | None = None
    max_output_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    text: TextConfig | None = None
    stream: bool = False
    store: bool | None = None
    previous_response_id: str | None = None
    include: list[str] | None = None
    prompt_cache_key: str | None = None
    metadata: dict[str, Any] | None = None
    user: str | None = None


def chat_params(request: ResponsesRequest) -> dict[str, Any]:
    """Chat-completion parameters equivalent to a Responses request's settings."""
    if request.previous_response_id:
        raise InvalidRequest(
            "previous_response_id is not supported: this gateway stores no responses. Send the whole "
            "conversation in `input` (and `store: false`).",
            param="previous_response_id",
        )
    if request.store is True:
        raise InvalidRequest("store: true is not supported: this gateway stores no responses.", param="store")
    params: dict[str, Any] = {}
    tools = [FunctionTool.model_validate(t) for t in request.tools or [] if t.get("type") == "function"]
    if tools:
        params["tools"] = [
            {"type": "function", "function": t.model_dump(exclude_none=True, exclude={"type", "strict"})}
            for t in tools
        ]
        params["tool_choice"] = _tool_choice(request.tool_choice)
        if params["tool_choice"] is None:
            params.pop("tool_choice")
    if request.parallel_tool_calls is not None and tools:
        params["parallel_tool_calls"] = request.parallel_tool_calls
    if request.reasoning and request.reasoning.effort:
        params["reasoning_effort"] = (
            "low" if request.reasoning.effort == "minimal" else request.reasoning.effort
        )
    for ours, theirs in (
        ("max_tokens", "max_output_tokens"),
        ("temperature", "temperature"),
        ("top_p", "top_p"),
    ):
        if getattr(request, theirs) is not None:
            params[ours] = getattr(request, theirs)
    text_format = request.text.format if request.text else None
    if text_format is not None and text_format.type == "json_schema":
        schema = {"name": text_format.name or "response", "schema": text_format.schema_ or {}}
        params["response_format"] = {"type": "json_schema", "json_schema": schema}
    elif text_format is not None and text_format.type == "json_object":
        params["response_format"] = {"type": "json_object"}
    if request.prompt_cache_key:
        params["prompt_cache_key"] = request.prompt_cache_key
    return params


def _tool_choice(choice: str | dict[str, Any] | None) -> Any:
    if choice is None or isinstance(choice, str):
        return choice
    if choice.get("type") == "function" and choice.get("name"):
        return {"type": "function", "function": {"name": choice["name"]}}
    return None


def chat_messages(request: ResponsesRequest) -> list[dict[str, Any]]:
    """The conversation as chat messages: instructions first, then each input item in order."""
    messages: list[dict[str, Any]] = []
    if request.instructions:
        messages.append({"role": "system", "content": request.instructions})
    if isinstance(request.input, str):
        messages.append({"role": "user", "content": request.input})
        return messages
    reasoning: list[dict[str, str]] = []  # replayed blocks waiting for the assistant turn they preceded
    for index, item in enumerate(request.input):
        kind = item.get("type", "message")
        if kind == "message":
            messages.append(_message(item, index))
            if messages[-1]["role"] == "assistant" and reasoning:
                messages[-1]["thinking_blocks"], reasoning = reasoning, []
        elif kind == "function_call":
            call = {
                "id": item["call_id"],
                "type": "function",
                "function": {"name": item["name"], "arguments": item.get("arguments", "")},
            }
            previous = messages[-1] if messages else None
            if previous is not None and previous["role"] == "assistant":
                previous.setdefault("tool_calls", []).append(call)
            else:
                previous = {"role": "assistant", "content": None, "tool_calls": [call]}
                messages.append(previous)
            if reasoning:
                previous["thinking_blocks"] = [*previous.get("thinking_blocks", []), *reasoning]
                reasoning = []
        elif kind == "function_call_output":
            output = item.get("output", "")
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": item["call_id"],
                    "content": output if isinstance(output, str) else str(output),
                }
            )
        elif kind == "reasoning":
            reasoning += replayed_blocks(item, index)  # replayed before the call or message it preceded
        else:
            raise InvalidRequest(
                f"Input items of type '{kind}' are not supported.", param=f"input.{index}.type"
            )
    if not messages or all(m["role"] == "system" for m in messages):
        raise InvalidRequest("The input has no user message.", param="input")
    return messages


def _message(item: dict[str, Any], index: int) -> dict[str, Any]:
    role = item.get("role", "user")
    if role not in ("user", "assistant", "system", "developer"):
        raise InvalidRequest(f"Unknown role '{role}'.", param=f"input.{index}.role")
    role = "system" if role == "developer" else role
    content = item.get("content", "")
    if isinstance(content, str):
        return {"role": role, "content": content}
    parts = []
    for part_index, part in enumerate(content):
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text"):
            parts.append({"type": "text", "text": part.get("text", "")})
        elif kind == "input_image" and role == "user":
            url = part.get("image_url") or ""
            parts.append({"type": "image_url", "image_url": {"url": url}})
        else:
            raise InvalidRequest(
                f"Content parts of type '{kind}' are not supported here.",
                param=f"input.{index}.content.{part_index}",
            )
    if role != "user":  # system and assistant turns carry text only
        return {"role": role, "content": "".join(p["text"] for p in parts)}
    return {"role": role, "content": parts}
