"""Anthropic Messages request shapes (pydantic), for validation and the OpenAPI document.

Validation is strict where Anthropic's is (roles, `max_tokens` required and positive, value ranges) and open
elsewhere: content blocks and tools travel to Claude on Bedrock as sent, so unknown fields are kept here and
filtered by the LLM layer (`pennyworth.llm.bedrock.anthropic`), not rejected.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from pennyworth.api.fields import INT32_MAX, ModelName
from pennyworth.api.fields import TokenCount as PositiveTokens


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


def _cache_control_is_an_object(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`cache_control` on a block, when present, is an object such as `{"type": "ephemeral"}`."""
    for index, block in enumerate(blocks):
        control = block.get("cache_control")
        if control is not None and not isinstance(control, dict):
            raise ValueError(
                f'cache_control of block {index} must be an object such as {{"type": "ephemeral"}}, '
                f"not a {type(control).__name__}"
            )
    return blocks


# Content blocks, system blocks and tools travel as sent; only what the gateway itself reads is checked.
Blocks = Annotated[list[dict[str, Any]], AfterValidator(_cache_control_is_an_object)]


class MessageParam(_Open):
    # `system` is Claude Code's (5.x models): the LLM layer moves it into the top-level system prompt.
    role: Literal["user", "assistant", "system"]
    content: str | Blocks


class ThinkingConfig(_Open):
    type: Literal["enabled", "disabled", "adaptive"]
    budget_tokens: int | None = Field(default=None, ge=1024, le=INT32_MAX)


class CountTokensRequest(_Open):
    model: ModelName
    messages: list[MessageParam] = Field(min_length=1)
    system: str | Blocks | None = None
    tools: Blocks | None = None
    tool_choice: dict[str, Any] | None = None
    thinking: ThinkingConfig | None = None


class MessagesRequest(CountTokensRequest):
    max_tokens: PositiveTokens
    temperature: float | None = Field(default=None, ge=0, le=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=0, le=INT32_MAX)
    stop_sequences: list[str] | None = None
    stream: bool = False
    metadata: dict[str, Any] | None = None


class Usage(BaseModel):
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


class Message(BaseModel):
    id: str
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    content: list[dict[str, Any]]
    model: str
    stop_reason: (
        Literal["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"] | None
    )
    stop_sequence: str | None = None
    usage: Usage


class TokenCount(BaseModel):
    input_tokens: int


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    message: str


class AnthropicError(BaseModel):
    """Anthropic's error envelope, exactly."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["error"]
    error: ErrorDetail
