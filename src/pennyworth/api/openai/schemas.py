"""OpenAI's request and response shapes, as pydantic models (validation and the OpenAPI document).

Requests are validated strictly where OpenAI is strict (roles, content parts, `n`), and leniently where
clients vary (unknown extra fields are ignored). Responses are documented here but rendered as plain dicts on
the hot path, so no response model is re-validated per request.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pennyworth.api.fields import Int64, ModelName, TokenCount


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- chat requests ------------------------------------------------------------------------------------------


class CacheControl(_Lenient):
    """A client's own cache marker (Anthropic's convention on OpenAI parts): becomes a Bedrock cache point."""

    type: Literal["ephemeral"] = "ephemeral"


class TextPart(_Lenient):
    type: Literal["text"]
    text: str
    cache_control: CacheControl | None = None


class ImageURL(_Lenient):
    url: str = Field(
        description="A `data:image/(png|jpeg|gif|webp);base64,...` URI (remote URLs are refused)."
    )
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Lenient):
    type: Literal["image_url"]
    image_url: ImageURL
    cache_control: CacheControl | None = None


class FileRef(_Lenient):
    file_id: str | None = Field(default=None, description="An uploaded file's id (Files or Uploads API).")
    file_data: str | None = Field(default=None, description="Or the file inline: `data:<mime>;base64,...`.")
    filename: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> FileRef:
        if not self.file_id and not self.file_data:
            raise ValueError("a file part needs 'file_id' or 'file_data'")
        return self


class FilePart(_Lenient):
    type: Literal["file"]
    file: FileRef


class VideoURL(_Lenient):
    url: str = Field(description="`data:video/<format>;base64,...`, or an uploaded file's id.")


class VideoPart(_Lenient):
    type: Literal["video_url"]
    video_url: VideoURL


UserContentPart = Annotated[TextPart | ImagePart | FilePart | VideoPart, Field(discriminator="type")]


class FunctionCall(_Lenient):
    name: str
    arguments: str


class ToolCallParam(_Lenient):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class SystemMessage(_Lenient):
    role: Literal["system"]
    content: str | list[TextPart]
    name: str | None = None


class DeveloperMessage(_Lenient):
    role: Literal["developer"]
    content: str | list[TextPart]
    name: str | None = None


class UserMessage(_Lenient):
    role: Literal["user"]
    content: str | list[UserContentPart]
    name: str | None = None


class ThinkingBlockParam(_Lenient):
    type: Literal["thinking"]
    thinking: str
    signature: str | None = None


class RedactedThinkingBlockParam(_Lenient):
    type: Literal["redacted_thinking"]
    data: str


ThinkingBlock = Annotated[ThinkingBlockParam | RedactedThinkingBlockParam, Field(discriminator="type")]


class AssistantMessage(_Lenient):
    role: Literal["assistant"]
    content: str | list[TextPart] | None = None
    tool_calls: list[ToolCallParam] | None = None
    reasoning_content: str | None = None
    thinking_blocks: list[ThinkingBlock] | None = Field(
        default=None,
        description="The reasoning blocks of an earlier answer, sent back as received (with signatures), so "
        "a thinking model keeps thinking in a tool loop.",
    )
    name: str | None = None


class ToolMessage(_Lenient):
    role: Literal["tool"]
    content: str | list[TextPart]
    tool_call_id: str


ChatMessage = Annotated[
    SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage,
    Field(discriminator="role"),
]


class FunctionDefinition(_Lenient):
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Lenient):
    type: Literal["function"]
    function: FunctionDefinition
    cache_control: CacheControl | None = None


class NamedFunction(_Lenient):
    name: str


class NamedToolChoice(_Lenient):
    type: Literal["function"]
    function: NamedFunction


class JsonSchemaFormat(_Lenient):
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    strict: bool | None = None


class ResponseFormat(_Lenient):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_present(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("'json_schema' is required when type is 'json_schema'")
        return self


class StreamOptions(_Lenient):
    include_usage: bool = False


class ChatCompletionRequest(_Lenient):
    model: ModelName
    messages: list[ChatMessage] = Field(min_length=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: TokenCount | None = None
    max_completion_tokens: TokenCount | None = None
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    user: str | None = None
    seed: Int64 | None = None
    prompt_cache_key: str | None = Field(
        default=None,
        max_length=1024,
        description="Names a conversation: automatic caching caches its newest turn.",
    )
    n: int | None = Field(
        default=None, description="Only 1 is supported.", json_schema_extra={"minimum": 1, "maximum": 1}
    )
    stream: bool = False
    stream_options: StreamOptions | None = None
    tools: list[Tool] | None = None
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None

    @field_validator("n")
    @classmethod
    def _only_one_choice(cls, value: int | None) -> int | None:
        if value is not None and value != 1:
            raise ValueError("only n=1 is supported: Bedrock returns a single choice per request")
        return value


# --- chat responses (documentation) -------------------------------------------------------------------------


class ResponseFunctionCall(BaseModel):
    name: str
    arguments: str


class ResponseToolCall(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: ResponseFunctionCall


class ResponseMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None
    tool_calls: list[ResponseToolCall] | None = None
    reasoning_content: str | None = None
    thinking_blocks: list[dict[str, str]] | None = None
    refusal: str | None = None


class Choice(BaseModel):
    index: int
    message: ResponseMessage
    finish_reason: Literal["stop", "length", "tool_calls", "content_filter"]
    logprobs: None = None


class PromptTokensDetails(BaseModel):
    cached_tokens: int = 0


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails | None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage
    system_fingerprint: str | None = None


# --- embeddings ---------------------------------------------------------------------------------------------


EmbeddingText = Annotated[str, Field(min_length=1)]


class EmbeddingRequest(_Lenient):
    model: ModelName
    input: EmbeddingText | Annotated[list[EmbeddingText], Field(min_length=1, max_length=2048)] = Field(
        description="A non-empty string or a list of 1-2048 non-empty strings (token-id inputs are not supported)."
    )
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: TokenCount | None = None
    user: str | None = None


class Embedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class EmbeddingUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage


# --- models and errors --------------------------------------------------------------------------------------


class ModelObject(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelObject]


class ErrorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    """OpenAI's error envelope, exactly (the document says so: every field present, nothing else)."""

    model_config = ConfigDict(extra="forbid")
    error: ErrorBody
