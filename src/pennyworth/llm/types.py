"""Provider-neutral request and result types that cross the LLM boundary.

The HTTP layers build a `ChatCall` / `EmbeddingCall`; the boundary answers with a `ChatResult`, a stream of
`StreamEvent`s, or an `EmbeddingResult`. Nothing here knows about LiteLLM, Bedrock wire shapes or any HTTP
API's envelope, so the OpenAI and Anthropic routes can both render the same results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pennyworth.catalog import ModelRoute


@dataclass(slots=True)
class Usage:
    """Token counts as the provider reported them. `prompt_tokens` includes cache reads and writes."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0  # of the writes, those cached for one hour (priced higher)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(slots=True)
class ChatCall:
    """A validated chat request in OpenAI's message and parameter vocabulary.

    An assistant message may carry the model's earlier reasoning to replay, in LiteLLM's `thinking_blocks`
    convention: `{"type": "thinking", "thinking": text, "signature": sig}` or
    `{"type": "redacted_thinking", "data": opaque}`, in the order the model produced them.
    """

    route: ModelRoute
    messages: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)  # temperature, tools, response_format, ...
    auto_cache_points: bool = True  # the key's choice; the operator's setting can still turn them off
    deadline: float | None = None  # `time.monotonic()` by which the answer must be finished (None: no limit)
    converse: PreparedConverse | None = None  # the Converse body for `route`, once made (before admission)


@dataclass(frozen=True, slots=True)
class PreparedConverse:
    """A chat call's Converse request body, made for one model, cache-point choice and set of parameters (a
    shallow copy: metering may still set `max_tokens` from the key's cap), and its JSON mode."""

    model_id: str
    auto_cache_points: bool
    params: dict[str, Any]
    body: bytes
    json_mode: bool


@dataclass(slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as OpenAI carries it


@dataclass(slots=True)
class ChatResult:
    """A whole (non-streamed) answer."""

    text: str
    reasoning: str | None
    reasoning_signature: str | None
    tool_calls: list[ToolCall]
    stop_reason: str  # provider-neutral: end_turn, stop_sequence, max_tokens, tool_use, content_filter
    usage: Usage
    thinking_blocks: list[dict[str, str]] = field(default_factory=list)  # as ChatCall carries them back
    route: ModelRoute | None = None  # the route that answered (a fallback when the asked one was throttled)
    warning: Truncated | None = None  # set when the gateway cut the answer short


# --- stream events: each is one thing the model did, in the order it did it ------------------------------


@dataclass(slots=True)
class TextDelta:
    text: str


@dataclass(slots=True)
class ReasoningDelta:
    """Reasoning text as it streams; `signature` closes a thinking block; `redacted` is a whole redacted block."""

    text: str = ""
    signature: str | None = None
    redacted: str | None = None


@dataclass(slots=True)
class ToolCallStart:
    index: int  # 0-based position among this answer's tool calls
    id: str
    name: str


@dataclass(slots=True)
class ToolCallDelta:
    index: int
    arguments: str  # a fragment of the JSON arguments


@dataclass(slots=True)
class Finish:
    stop_reason: str


@dataclass(slots=True)
class UsageReport:
    usage: Usage


@dataclass(slots=True)
class PromptUsage:
    """The prompt's tokens as the provider counted them when a stream started (before any output): what a
    stream cut off later is charged for its prompt. Metering consumes it; renderers never see it."""

    usage: Usage


@dataclass(slots=True)
class AnthropicEvent:
    """One event of Anthropic's Messages stream, relayed as is (`text` holds a delta's text, for estimates)."""

    type: str
    data: bytes  # the event's JSON, ready to send
    text: str = ""


class DeadlineReached(Exception):
    """Raised by a stream that keeps the request deadline itself (the Bedrock wire, once per network read): the
    deadline has come and nothing more will be read. `llm.deadline.until_deadline` turns it into `Truncated`."""


@dataclass(slots=True)
class Truncated:
    """The gateway cut the answer short (`cause`: `deadline`); what came before is the whole answer.

    It replaces the model's own end: renderers end the stream as the API ends an answer that ran out of
    tokens, with `message` as a warning. `usage` is what was consumed, filled in by metering."""

    cause: str
    message: str
    usage: Usage | None = None


StreamEvent = (
    TextDelta
    | ReasoningDelta
    | ToolCallStart
    | ToolCallDelta
    | Finish
    | UsageReport
    | PromptUsage
    | AnthropicEvent
    | Truncated
)


@dataclass(slots=True)
class MessagesCall:
    """An Anthropic Messages request for a Claude model on Bedrock, as the InvokeModel body it becomes."""

    route: ModelRoute
    body: dict[str, Any]
    requested_model: str  # echoed back in answers (Claude Code checks it), while usage is kept by route name
    deadline: float | None = None  # `time.monotonic()` by which the answer must be finished (None: no limit)


@dataclass(slots=True)
class EmbeddingCall:
    route: ModelRoute
    inputs: list[str]
    dimensions: int | None = None


@dataclass(slots=True)
class EmbeddingResult:
    vectors: list[list[float]]  # float32-exact values, one per input, in input order
    prompt_tokens: int
