"""The Converse request rules the Bedrock double enforces, each refused with Bedrock's own status and message.

A double is only worth what it refuses: every rule here is one real Bedrock applies (sources in
`/work/shared/reference/bedrock-rules.md` and the comments below), so a gateway bug that breaks it fails in
our tests instead of in front of a user.

- Conversation shape: at least one message, the first from the user; tool blocks need a `toolConfig`.
- Images: the `format` label is one of png/jpeg/gif/webp (Bedrock's schema layer), the bytes decode as
  base64 and are an image of the labelled format (the model layer).
- Tools: each `inputSchema.json` is a JSON object whose `type` is `object` and whose `properties` (when
  present) is an object; a `toolChoice` naming a tool names one of `toolConfig.tools`.
- Claude and tool choice: a thinking Claude refuses a forced tool choice (`any` / `tool`); Sonnet and Opus 5.5
  always think, so they refuse it outright, and refuse `thinking.type: disabled`.
- Claude thinking: with `thinking` enabled (or adaptive), the final assistant message that holds `toolUse`
  must start with a reasoning block; every replayed reasoning block must carry the signature the double
  gave its text (or redacted data the double produced). Signatures are an HMAC of the thinking text under
  a key only the double knows, so a gateway cannot forge, alter or misplace them unnoticed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from typing import Any

IMAGE_FORMATS = ("gif", "jpeg", "png", "webp")
_MAGIC = {
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
}
_SIGNING_KEY = os.urandom(32)  # private to this process: nothing outside the double can sign
_REDACTED_PREFIX = b"pennyworth-double-redacted:"
MODEL_ERRORS = "The model returned the following errors: "
THINKING_FIRST = (
    "Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is enabled, a final "
    "`assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and "
    "`tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this "
    "requirement, disable `thinking`. Please consult our documentation at "
    "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
)


class RuleViolation(Exception):
    """Bedrock's refusal: the exception name and its message (the status follows from the name)."""

    def __init__(self, message: str, name: str = "ValidationException") -> None:
        super().__init__(message)
        self.name = name
        self.message = message


# --- signatures the double hands out and later checks -------------------------------------------------------


def sign_thinking(text: str) -> str:
    """The signature the double gives a thinking text (verifiable only by this process)."""
    digest = hmac.new(_SIGNING_KEY, text.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def redacted_data() -> str:
    """Opaque redacted-thinking data, as Claude returns it (base64), that only this double accepts back."""
    nonce = os.urandom(12)
    tag = hmac.new(_SIGNING_KEY, _REDACTED_PREFIX + nonce, hashlib.sha256).digest()
    return base64.b64encode(_REDACTED_PREFIX + nonce + tag).decode()


def _redacted_is_ours(data: str) -> bool:
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return False
    if not raw.startswith(_REDACTED_PREFIX) or len(raw) != len(_REDACTED_PREFIX) + 12 + 32:
        return False
    nonce, tag = raw[len(_REDACTED_PREFIX) : -32], raw[-32:]
    expected = hmac.new(_SIGNING_KEY, _REDACTED_PREFIX + nonce, hashlib.sha256).digest()
    return hmac.compare_digest(tag, expected)


# --- Claude's replay rules, worded as Claude words them (shared by Converse and Claude's own format) ----------


def signature_problem(where: str, text: str, signature: Any) -> str | None:
    """What Claude says of a replayed thinking block whose signature is missing or not the one given its text."""
    if not signature:
        return f"{where}.thinking.signature: Field required"
    if not hmac.compare_digest(str(signature), sign_thinking(text)):
        return f"{where}: Invalid `signature` in `thinking` block"
    return None


def redacted_problem(where: str, data: str) -> str | None:
    """What Claude says of replayed redacted thinking the double did not produce (or that was altered)."""
    return None if _redacted_is_ours(data) else f"{where}: Invalid `data` in `redacted_thinking` block"


def last_assistant(messages: list[dict[str, Any]]) -> tuple[int, list[Any]] | None:
    """The index and content blocks of the final assistant message (none for text-only content)."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") == "assistant":
            content = messages[index].get("content")
            return index, content if isinstance(content, list) else []
    return None


def thinking_first_problem(index: int, found: str) -> str:
    """Claude's refusal of a final tool-use turn that opens with `found` instead of a thinking block."""
    return f"messages.{index}.content.0.type: {THINKING_FIRST.replace('`tool_use`', f'`{found}`', 1)}"


# --- the rules ----------------------------------------------------------------------------------------------


def check_converse(body: dict[str, Any], model_id: str) -> None:
    """Raise RuleViolation for the first rule `body` breaks, as Bedrock's Converse would."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RuleViolation("The messages field must contain at least one message.")
    if messages[0].get("role") != "user":
        raise RuleViolation("A conversation must start with a user message.")
    uses_tools = False
    for m_index, message in enumerate(messages):
        for b_index, block in enumerate(message.get("content", [])):
            uses_tools = uses_tools or "toolUse" in block or "toolResult" in block
            if "image" in block:
                _check_image(block["image"], m_index, b_index)
            if "reasoningContent" in block:
                _check_reasoning(block["reasoningContent"], m_index, b_index)
    if uses_tools and "toolConfig" not in body:
        raise RuleViolation(
            "The toolConfig field must be defined when using toolUse and toolResult content blocks."
        )
    _check_tools(body.get("toolConfig"))
    if "anthropic." in model_id:
        _check_claude_tool_choice(body, model_id)
    if "anthropic." in model_id and _thinking_on(body):
        _check_thinking_first(messages)


def _check_image(image: dict[str, Any], m_index: int, b_index: int) -> None:
    label = image.get("format")
    if label not in IMAGE_FORMATS:
        raise RuleViolation(
            f"1 validation error detected: Value '{label}' at 'messages.{m_index + 1}.member.content."
            f"{b_index + 1}.member.image.format' failed to satisfy constraint: Member must satisfy enum "
            f"value set: [{', '.join(IMAGE_FORMATS)}]"
        )
    if "s3Location" in (image.get("source") or {}):
        return  # S3 sources follow double_media's rules (only models that read S3 take them)
    try:
        raw = base64.b64decode((image.get("source") or {})["bytes"], validate=True)
    except (binascii.Error, KeyError, TypeError, ValueError) as exc:
        # Bedrock's JSON protocol rejects a blob that is not base64 before any model sees it.
        raise RuleViolation(
            f"Invalid base64 in messages.{m_index}.content.{b_index}.image.source.bytes",
            "SerializationException",
        ) from exc
    found = _image_kind(raw)
    if found != label:
        raise RuleViolation(
            f"{MODEL_ERRORS}messages.{m_index}.content.{b_index}.image.source.base64: The image was "
            f"specified using the image/{label} media type, but the image appears to be "
            f"{'a image/' + found + ' image' if found else 'an unsupported image'}"
        )


def _image_kind(raw: bytes) -> str | None:
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "webp"
    return next((kind for kind, magics in _MAGIC.items() if raw.startswith(magics)), None)


def _check_reasoning(reasoning: dict[str, Any], m_index: int, b_index: int) -> None:
    where = f"messages.{m_index}.content.{b_index}"
    if "redactedContent" in reasoning:
        problem = redacted_problem(where, str(reasoning["redactedContent"]))
    else:
        text_block = reasoning.get("reasoningText") or {}
        problem = signature_problem(where, str(text_block.get("text", "")), text_block.get("signature"))
    if problem is not None:
        raise RuleViolation(f"{MODEL_ERRORS}{problem}")


def _check_tools(config: dict[str, Any] | None) -> None:
    if not config:
        return
    names = []
    for index, tool in enumerate(config.get("tools") or []):
        spec = tool.get("toolSpec")
        if spec is None:
            continue  # cachePoint and system tools
        names.append(spec.get("name"))
        _check_schema((spec.get("inputSchema") or {}).get("json"), index)
    named = ((config.get("toolChoice") or {}).get("tool") or {}).get("name")
    if named is not None and named not in names:
        raise RuleViolation(f"{MODEL_ERRORS}tool_choice.name: Tool '{named}' not found in provided tools")


def _check_schema(schema: Any, index: int) -> None:
    where = f"toolConfig.tools.{index}.toolSpec.inputSchema"
    if not isinstance(schema, dict):
        raise RuleViolation(
            f"The format of the value at {where}.json is invalid. Provide a json object for the field and "
            "try again."
        )
    if schema.get("type") != "object":
        raise RuleViolation(f"The value at {where}.json.type must be one of the following: object.")
    problem = _schema_problem(schema, "$")
    if problem:
        raise RuleViolation(
            f"The json schema definition at {where} is invalid. Fix the following errors and try again: "
            f"{problem}"
        )


_JSON_TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}


def _schema_problem(schema: dict[str, Any], path: str) -> str | None:
    """The first structural error of a (sub)schema, in the validator's wording; None when it is well formed."""
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind is not None else []
    for one in kinds:
        if one not in _JSON_TYPES:
            return f"{path}.type: does not have a value in the enumeration {sorted(_JSON_TYPES)}"
    for key in ("properties", "$defs", "definitions"):
        if key in schema and not isinstance(schema[key], dict):
            return f"{path}.{key}: {_json_type_name(schema[key])} found, object expected"
    for name, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, dict):
            return f"{path}.properties.{name}: {_json_type_name(sub)} found, object expected"
        problem = _schema_problem(sub, f"{path}.properties.{name}")
        if problem:
            return problem
    required = schema.get("required")
    if required is not None and not (
        isinstance(required, list) and all(isinstance(r, str) for r in required)
    ):
        return f"{path}.required: {_json_type_name(required)} found, array expected"
    items = schema.get("items")
    if items is not None:
        if not isinstance(items, dict):
            return f"{path}.items: {_json_type_name(items)} found, object expected"
        return _schema_problem(items, f"{path}.items")
    return None


def _json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object" if isinstance(value, dict) else "value"


ALWAYS_THINKING = ("anthropic.claude-sonnet-5-5", "anthropic.claude-opus-5-5")
FORCED_WITH_THINKING = "Thinking may not be enabled when tool_choice forces tool use."


def _check_claude_tool_choice(body: dict[str, Any], model_id: str) -> None:
    """Forced tool use and thinking exclude each other; the always-thinking models refuse disabled thinking."""
    always = model_id.endswith(ALWAYS_THINKING)
    thinking = (body.get("additionalModelRequestFields") or {}).get("thinking") or {}
    if always and thinking.get("type") == "disabled":
        raise RuleViolation("thinking.type: 'disabled' is not supported for this model.")
    choice = (body.get("toolConfig") or {}).get("toolChoice") or {}
    if ("any" in choice or "tool" in choice) and (always or _thinking_on(body)):
        raise RuleViolation(FORCED_WITH_THINKING)


def _thinking_on(body: dict[str, Any]) -> bool:
    thinking = (body.get("additionalModelRequestFields") or {}).get("thinking") or {}
    return thinking.get("type") in ("enabled", "adaptive")


def _check_thinking_first(messages: list[dict[str, Any]]) -> None:
    """The final assistant message, if it holds toolUse, must open with a reasoning block."""
    final = last_assistant(messages)
    if final is None:
        return
    index, content = final
    if not any("toolUse" in block for block in content):
        return
    if "reasoningContent" in content[0]:
        return
    first = next(iter(content[0]), "text")
    found = {"toolUse": "tool_use", "text": "text"}.get(first, first)
    raise RuleViolation(f"{MODEL_ERRORS}{thinking_first_problem(index, found)}")
