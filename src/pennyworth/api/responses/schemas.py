"""OpenAI Responses API request shapes (pydantic), and the conversion of a request into a chat call.

Codex CLI speaks only this API: message items with `input_text` parts and a `developer` role,
`function_call` / `function_call_output` items on later turns, `store: false`, `include`, `prompt_cache_key`,
`parallel_tool_calls`, `reasoning: {effort, summary}`. All are accepted; `prompt_cache_key` tells automatic
prompt caching the conversation continues; what Bedrock has no use for (include, summary style) is ignored.
Earlier `reasoning` items are replayed from their `encrypted_content` (see `reasoning`). The gateway is
stateless: `previous_response_id` and an explicit `store: true` are refused with a clear 400.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from pennyworth.api.fields import ModelName, TokenCount
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


class OtherTool(_Open):
    """A hosted tool (web_search, file_search, ...): accepted and not offered to the model."""

    type: str


Tool = Annotated[
    Annotated[FunctionTool, Tag("function")] | Annotated[OtherTool, Tag("other")],
    Discriminator(lambda tool: "function" if _get(tool, "type") == "function" else "other"),
]


class TextPart(_Open):
    type: Literal["input_text", "output_text", "text"]
    text: str


class ImagePart(_Open):
    type: Literal["input_image"]
    image_url: str | None = None
    file_id: str | None = None  # an uploaded file (Files / Uploads API)
    detail: str | None = None


class FilePart(_Open):
    type: Literal["input_file"]
    file_id: str | None = None
    file_data: str | None = None  # `data:<mime>;base64,...`
    filename: str | None = None


ContentPart = Annotated[TextPart | ImagePart | FilePart, Field(discriminator="type")]


class MessageItem(_Open):
    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"] = "user"
    content: str | list[ContentPart]


class FunctionCallItem(_Open):
    type: Literal["function_call"]
    call_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    arguments: str = ""


class FunctionCallOutputItem(_Open):
    type: Literal["function_call_output"]
    call_id: str = Field(min_length=1)
    output: str | list[dict[str, Any]] = ""


class ReasoningItem(_Open):
    """An earlier turn's reasoning (`summary`, `encrypted_content`): accepted."""

    type: Literal["reasoning"]
    summary: list[dict[str, Any]] = Field(default_factory=list)
    encrypted_content: str | None = None


def _get(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def _item_kind(item: Any) -> str:
    """Items without a `type` are messages (OpenAI's "easy input message")."""
    kind = _get(item, "type")
    return "message" if kind is None else str(kind)


InputItem = Annotated[
    Annotated[MessageItem, Tag("message")]
    | Annotated[FunctionCallItem, Tag("function_call")]
    | Annotated[FunctionCallOutputItem, Tag("function_call_output")]
    | Annotated[ReasoningItem, Tag("reasoning")],
    Discriminator(
        _item_kind,
        custom_error_type="invalid_item_type",
        custom_error_message="this type of input item is not supported here; expected message, function_call, "
        "function_call_output or reasoning",
    ),
]


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
    model: ModelName
    input: str | list[InputItem]
    instructions: str | None = None
    tools: list[Tool] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    reasoning: Reasoning | None = None
    max_output_tokens: TokenCount | None = None
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
    tools = [t for t in request.tools or [] if isinstance(t, FunctionTool)]
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
        if isinstance(item, MessageItem):
            messages.append(_message(item, index))
            if messages[-1]["role"] == "assistant" and reasoning:
                messages[-1]["thinking_blocks"], reasoning = reasoning, []
        elif isinstance(item, FunctionCallItem):
            call = {
                "id": item.call_id,
                "type": "function",
                "function": {"name": item.name, "arguments": item.arguments},
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
        elif isinstance(item, FunctionCallOutputItem):
            output = item.output
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": item.call_id,
                    "content": output if isinstance(output, str) else orjson.dumps(output).decode(),
                }
            )
        else:  # reasoning: replayed before the call or message it preceded
            reasoning += replayed_blocks(item.model_dump(), index)
    if not messages or all(m["role"] == "system" for m in messages):
        raise InvalidRequest("The input has no user message.", param="input")
    return messages


def _message(item: MessageItem, index: int) -> dict[str, Any]:
    role = "system" if item.role == "developer" else item.role
    if isinstance(item.content, str):
        return {"role": role, "content": item.content}
    parts: list[dict[str, Any]] = []
    for part_index, part in enumerate(item.content):
        if isinstance(part, TextPart):
            parts.append({"type": "text", "text": part.text})
        elif role == "user" and isinstance(part, FilePart):
            ref = {k: v for k, v in (("file_id", part.file_id), ("file_data", part.file_data)) if v}
            if not ref:
                raise InvalidRequest(
                    "An input_file needs 'file_id' or 'file_data'.",
                    param=f"input.{index}.content.{part_index}",
                )
            parts.append({"type": "file", "file": {**ref, "filename": part.filename or ""}})
        elif role == "user" and isinstance(part, ImagePart):
            url = part.image_url or part.file_id or ""
            parts.append({"type": "image_url", "image_url": {"url": url}})
        else:
            raise InvalidRequest(
                "Images are accepted in user messages only.", param=f"input.{index}.content.{part_index}"
            )
    if role != "user":  # system and assistant turns carry text only
        return {"role": role, "content": "".join(p["text"] for p in parts)}
    return {"role": role, "content": parts}
