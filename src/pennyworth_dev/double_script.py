"""What the Bedrock double answers: deterministic replies derived from the request and its directives.

A test steers the double by writing directives into the last user message (or an embedding input):
`[[double:chunks=1000]]`, `[[double:error=ThrottlingException]]`, `[[double:first_token_delay=0.5]]`,
`[[double:chunk_delay=0.01]]`, `[[double:midstream_error=modelStreamErrorException]]` (with
`error_after=N` chunks), `[[double:cache_read=N]]`, `[[double:tools=2]]` (parallel calls), `[[double:tool]]`,
`[[double:tool=NAME]]` (call the request's tool NAME) with `[[double:tool_input={"command": "ls"}]]` (its JSON
arguments, without `]`; otherwise arguments are sampled from the tool's schema), `[[double:redacted]]`
(redacted thinking instead of signed thinking text).
Without directives the double answers like a small, polite model, refuses what Bedrock refuses
(`double_rules`: conversation shape, images, tool schemas and choice, Claude's signed-thinking rules), honours
`maxTokens` and `stopSequences`, calls tools when asked to, and thinks (with verifiable signatures) when
thinking is enabled.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pennyworth_dev.double_rules import RuleViolation, check_converse, redacted_data, sign_thinking

_DIRECTIVE = re.compile(r"\[\[double:([a-z_]+)(?:=([^\]]*))?\]\]")


class DoubleError(Exception):
    """A Bedrock error the double answers with: the exception name and its message."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


@dataclass
class Block:
    kind: str  # text | toolUse | reasoning | redacted
    text: str = ""  # for `redacted`: the opaque data
    tool_id: str = ""
    tool_name: str = ""
    tool_input: dict[str, Any] = field(default_factory=dict)
    signature: str = ""


@dataclass
class Reply:
    blocks: list[Block]
    stop_reason: str
    input_tokens: int
    output_tokens: int
    cache_read: int = 0
    cache_write: int = 0
    cache_details: list[dict[str, Any]] = field(default_factory=list)  # writes by TTL
    cache_reported: bool = False  # the request had cache points (or a cache directive): usage names both
    directives: dict[str, str] = field(default_factory=dict)

    def number(self, name: str, default: float = 0.0) -> float:
        return float(self.directives.get(name, default))


# What Bedrock says when IAM refuses the caller: it names the account, the role and the function's session.
ACCESS_DENIED_MESSAGE = (
    "User: arn:aws:sts::123456789012:assumed-role/pennyworth-GatewayFunctionRole-1A2B3C4D/"
    "pennyworth-GatewayFunction-5E6F7A8B is not authorized to perform: bedrock:InvokeModel on resource: "
    "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0 because no identity-based policy "
    "allows the bedrock:InvokeModel action"
)


def injected_error(name: str) -> DoubleError:
    """The error a `[[double:error=Name]]` directive asks for, with Bedrock's own text where it matters."""
    if name == "AccessDeniedException":
        return DoubleError(name, ACCESS_DENIED_MESSAGE)
    return DoubleError(name, f"Injected {name} from the Bedrock double.")


def directives_in(text: str) -> dict[str, str]:
    return {key: (value if value is not None else "1") for key, value in _DIRECTIVE.findall(text)}


def _texts(content: list[dict[str, Any]]) -> list[str]:
    out = []
    for block in content:
        if "text" in block:
            out.append(block["text"])
        elif "toolResult" in block:
            out.extend(
                c.get("text", "") for c in block["toolResult"].get("content", []) if isinstance(c, dict)
            )
    return out


def stream_pieces(text: str) -> list[str]:
    """A text as the double streams it, a word a delta; the pieces add up to the text exactly."""
    words = text.split(" ")
    return [w + " " for w in words[:-1]] + [words[-1]] if text else []


def _count_words(text: str) -> int:
    return len(text.split())


def requested_tool(
    names: list[str], directives: dict[str, str], schema_of: Callable[[str], dict[str, Any]]
) -> tuple[str, dict[str, Any]] | None:
    """The tool a `[[double:tool=NAME]]` directive asks for and its input, when NAME is one of `names`."""
    name = directives.get("tool", "")
    if name not in names:
        return None
    if "tool_input" in directives:
        return name, json.loads(directives["tool_input"])
    return name, sample_for(schema_of(name))


def sample_for(schema: dict[str, Any]) -> Any:
    """A plausible value for a JSON schema (enough for tool arguments and structured output)."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        return {name: sample_for(sub) for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [sample_for(schema.get("items") or {"type": "string"})]
    return {"string": "Paris", "integer": 42, "number": 1.5, "boolean": True, "null": None}.get(kind, "Paris")


def _tool_blocks(body: dict[str, Any], directives: dict[str, str]) -> list[Block]:
    config = body.get("toolConfig") or {}
    tools = [t["toolSpec"] for t in config.get("tools", []) if "toolSpec" in t]
    if not tools:
        return []
    choice = config.get("toolChoice") or {}
    names = [t["name"] for t in tools]
    by_name = {t["name"]: t for t in tools}
    named = requested_tool(
        names, directives, lambda n: (by_name[n].get("inputSchema") or {}).get("json") or {}
    )
    if named is not None and "tool" not in choice:
        tool_id = f"tooluse_{hashlib.sha1(named[0].encode()).hexdigest()[:20]}"  # noqa: S324
        return [Block(kind="toolUse", tool_id=tool_id, tool_name=named[0], tool_input=named[1])]
    forced = "any" in choice or "tool" in choice or "tool" in directives or "tools" in directives
    if "json_tool_call" in names:
        chosen = ["json_tool_call"]
    elif "tool" in choice:
        chosen = [choice["tool"]["name"]]
    elif forced:
        count = int(directives.get("tools", "1"))
        chosen = [names[i % len(names)] for i in range(count)]
    else:
        return []
    blocks = []
    for index, name in enumerate(chosen):
        schema = (by_name[name].get("inputSchema") or {}).get("json") or {}
        tool_id = f"tooluse_{hashlib.sha1(f'{name}{index}'.encode()).hexdigest()[:20]}"  # noqa: S324
        blocks.append(Block(kind="toolUse", tool_id=tool_id, tool_name=name, tool_input=sample_for(schema)))
    return blocks


def _reply_text(last_texts: list[str], directives: dict[str, str], saw_tool_result: bool) -> str:
    if "chunks" in directives:
        return " ".join(f"w{i}" for i in range(int(directives["chunks"])))
    if saw_tool_result:
        return "The tool says: " + " ".join(last_texts)[:200]
    prompt = _DIRECTIVE.sub("", " ".join(last_texts)).strip()
    return (
        f"This is a simulated Bedrock reply to: {prompt[:80]}"
        if prompt
        else "This is a simulated Bedrock reply."
    )


def converse_reply(body: dict[str, Any], model_id: str = "") -> Reply:
    """The reply to a Converse / ConverseStream body (raises DoubleError for injected or invalid cases)."""
    try:
        check_converse(body, model_id)
    except RuleViolation as exc:
        raise DoubleError(exc.name, exc.message) from exc
    last = body["messages"][-1]
    last_texts = _texts(last.get("content", []))
    directives = directives_in(" ".join(last_texts))
    if "error" in directives:
        raise injected_error(directives["error"])
    input_tokens = sum(_count_words(" ".join(_texts(m.get("content", [])))) for m in body["messages"])
    input_tokens += sum(_count_words(s.get("text", "")) for s in body.get("system", []))
    blocks: list[Block] = []
    extra = body.get("additionalModelRequestFields") or {}
    if "thinking" in extra or "reasoningConfig" in extra:
        blocks.append(_reasoning_block(directives))
    tool_blocks = _tool_blocks(body, directives)
    stop_reason = "end_turn"
    if tool_blocks:
        blocks.extend(tool_blocks)
        stop_reason = "tool_use"
    else:
        saw_tool_result = any("toolResult" in b for b in last.get("content", []))
        text, stop_reason = _truncate(_reply_text(last_texts, directives, saw_tool_result), body)
        blocks.append(Block(kind="text", text=text))
    output_tokens = sum(
        _count_words(b.text) if b.kind != "toolUse" else len(str(b.tool_input).split()) for b in blocks
    )
    return Reply(
        blocks=blocks,
        stop_reason=stop_reason,
        input_tokens=max(input_tokens, 1),
        output_tokens=output_tokens,
        cache_read=int(directives.get("cache_read", 0)),
        directives=directives,
    )


def _reasoning_block(directives: dict[str, str]) -> Block:
    """Signed thinking (the signature is the double's HMAC of the text), or redacted thinking on request."""
    if "redacted" in directives:
        return Block(kind="redacted", text=redacted_data())
    text = "Let me think this through step by step."
    return Block(kind="reasoning", text=text, signature=sign_thinking(text))


def _truncate(text: str, body: dict[str, Any]) -> tuple[str, str]:
    config = body.get("inferenceConfig") or {}
    for stop in config.get("stopSequences") or []:
        if stop and stop in text:
            return text[: text.index(stop)], "stop_sequence"
    max_tokens = config.get("maxTokens")
    words = text.split(" ")
    if max_tokens is not None and len(words) > max_tokens:
        return " ".join(words[:max_tokens]), "max_tokens"
    return text, "end_turn"


def converse_response(reply: Reply) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for block in reply.blocks:
        if block.kind == "text":
            content.append({"text": block.text})
        elif block.kind == "toolUse":
            content.append(
                {"toolUse": {"toolUseId": block.tool_id, "name": block.tool_name, "input": block.tool_input}}
            )
        elif block.kind == "redacted":
            content.append({"reasoningContent": {"redactedContent": block.text}})
        else:
            content.append(
                {"reasoningContent": {"reasoningText": {"text": block.text, "signature": block.signature}}}
            )
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": reply.stop_reason,
        "usage": usage_of(reply),
        "metrics": {"latencyMs": 1},
    }


def usage_of(reply: Reply) -> dict[str, int]:
    usage = {
        "inputTokens": reply.input_tokens,
        "outputTokens": reply.output_tokens,
        "totalTokens": reply.input_tokens + reply.output_tokens + reply.cache_read,
    }
    if reply.cache_read or reply.cache_write or reply.cache_reported:
        usage["cacheReadInputTokens"] = reply.cache_read
        usage["cacheWriteInputTokens"] = reply.cache_write
        usage["cacheDetails"] = reply.cache_details
        usage["totalTokens"] += reply.cache_write
    return usage


def vector_for(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector for `text` (full float64 precision, as Bedrock's JSON carries)."""
    rng = random.Random(hashlib.sha256(text.encode()).digest())
    raw = [rng.uniform(-1.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return [v / norm for v in raw]


def embedding_response(model_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """InvokeModel for Titan v2 / Cohere embeddings: the response body and the input token count."""
    texts = [body["inputText"]] if "titan" in model_id else list(body.get("texts") or [])
    if not texts or any(not isinstance(t, str) for t in texts):
        raise DoubleError("ValidationException", "Malformed input request: expected text input.")
    for text in texts:
        directives = directives_in(text)
        if "error" in directives:
            raise injected_error(directives["error"])
    tokens = sum(max(_count_words(t), 1) for t in texts)
    if "titan" in model_id:
        dimensions = int(body.get("dimensions") or 1024)
        if dimensions not in (256, 512, 1024):
            raise DoubleError("ValidationException", "dimensions must be one of 256, 512, 1024")
        return {"embedding": vector_for(texts[0], dimensions), "inputTextTokenCount": tokens}, tokens
    vectors = [vector_for(t, 1024) for t in texts]
    return {
        "embeddings": vectors,
        "id": "double",
        "response_type": "embeddings_floats",
        "texts": texts,
    }, tokens
