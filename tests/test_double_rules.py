"""The Bedrock double refuses what Bedrock refuses (Converse): one test per rule, status and message.

Requests go to the double over real HTTP, signed with SigV4 like any Bedrock client's.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from pennyworth_dev.bedrock_double import TEST_CREDENTIALS, BedrockDouble
from pennyworth_dev.double_rules import redacted_data, sign_thinking

CLAUDE = "us.anthropic.claude-sonnet-5-5"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
WEATHER = {
    "toolSpec": {
        "name": "get_weather",
        "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}},
    }
}
THINKING = {"thinking": {"type": "enabled", "budget_tokens": 1024}}


def converse(double: BedrockDouble, body: dict[str, Any], model: str = CLAUDE) -> httpx.Response:
    url = f"{double.url}/model/{model}/converse"
    data = json.dumps(body).encode()
    request = AWSRequest(method="POST", url=url, data=data, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(*TEST_CREDENTIALS), "bedrock", "us-east-1").add_auth(request)
    return httpx.post(url, content=data, headers=dict(request.headers.items()))


def refusal(response: httpx.Response) -> tuple[int, str, str]:
    return (
        response.status_code,
        response.headers["x-amzn-ErrorType"].split(":")[0],
        response.json()["message"],
    )


def user(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": list(blocks) or [{"text": "Weather in Paris?"}]}


def tool_turn(*leading: dict[str, Any]) -> list[dict[str, Any]]:
    """user → assistant (leading blocks, then toolUse) → user (toolResult)."""
    use = {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Paris"}}}
    result = {"toolResult": {"toolUseId": "t1", "content": [{"text": "Sunny"}]}}
    return [user(), {"role": "assistant", "content": [*leading, use]}, user(result)]


def signed(text: str, signature: str | None = None) -> dict[str, Any]:
    return {
        "reasoningContent": {"reasoningText": {"text": text, "signature": signature or sign_thinking(text)}}
    }


@pytest.fixture(scope="module")
def double() -> Any:
    with BedrockDouble() as running:
        yield running


def test_thinking_on_and_a_final_tool_use_turn_without_reasoning_is_refused(double: BedrockDouble) -> None:
    body = {
        "messages": tool_turn(),
        "toolConfig": {"tools": [WEATHER]},
        "additionalModelRequestFields": THINKING,
    }
    status, name, message = refusal(converse(double, body))
    assert (status, name) == (400, "ValidationException")
    assert message.startswith(
        "The model returned the following errors: messages.1.content.0.type: Expected `thinking` or "
        "`redacted_thinking`, but found `tool_use`. When `thinking` is enabled, a final `assistant` message "
        "must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks)"
    )
    # the same turn is fine with thinking off, or with its signed reasoning first
    assert converse(double, {**body, "additionalModelRequestFields": {}}).status_code == 200
    body["messages"] = tool_turn(signed("Let me check the weather."))
    assert converse(double, body).status_code == 200


def test_a_signature_that_does_not_belong_to_its_text_is_refused(double: BedrockDouble) -> None:
    forged = signed("I changed my mind.", signature=sign_thinking("Let me check the weather."))
    body = {
        "messages": tool_turn(forged),
        "toolConfig": {"tools": [WEATHER]},
        "additionalModelRequestFields": THINKING,
    }
    assert refusal(converse(double, body)) == (
        400,
        "ValidationException",
        "The model returned the following errors: messages.1.content.0: Invalid `signature` in `thinking` block",
    )
    body["messages"] = tool_turn({"reasoningContent": {"reasoningText": {"text": "unsigned"}}})
    assert refusal(converse(double, body))[2].endswith(
        "messages.1.content.0.thinking.signature: Field required"
    )


def test_redacted_thinking_must_be_data_the_model_produced(double: BedrockDouble) -> None:
    body = {
        "messages": tool_turn(
            {"reasoningContent": {"redactedContent": base64.b64encode(b"made up").decode()}}
        ),
        "toolConfig": {"tools": [WEATHER]},
        "additionalModelRequestFields": THINKING,
    }
    assert refusal(converse(double, body))[2].endswith(
        "messages.1.content.0: Invalid `data` in `redacted_thinking` block"
    )
    body["messages"] = tool_turn({"reasoningContent": {"redactedContent": redacted_data()}})
    assert converse(double, body).status_code == 200


def test_unsupported_image_format_is_refused(double: BedrockDouble) -> None:
    image = {"image": {"format": "bmp", "source": {"bytes": base64.b64encode(PNG).decode()}}}
    status, name, message = refusal(converse(double, {"messages": [user({"text": "What is it?"}, image)]}))
    assert (status, name) == (400, "ValidationException")
    assert message == (
        "1 validation error detected: Value 'bmp' at 'messages.1.member.content.2.member.image.format' failed "
        "to satisfy constraint: Member must satisfy enum value set: [gif, jpeg, png, webp]"
    )


def test_image_bytes_that_are_not_base64_or_not_the_labelled_format_are_refused(
    double: BedrockDouble,
) -> None:
    not_base64 = {"image": {"format": "png", "source": {"bytes": "this is not base64!"}}}
    status, name, message = refusal(converse(double, {"messages": [user(not_base64)]}))
    assert (status, name, message) == (
        400,
        "SerializationException",
        "Invalid base64 in messages.0.content.0.image.source.bytes",
    )
    mislabelled = {"image": {"format": "jpeg", "source": {"bytes": base64.b64encode(PNG).decode()}}}
    assert refusal(converse(double, {"messages": [user(mislabelled)]}))[2] == (
        "The model returned the following errors: messages.0.content.0.image.source.base64: The image was "
        "specified using the image/jpeg media type, but the image appears to be a image/png image"
    )


def test_tool_choice_naming_a_tool_not_in_the_request_is_refused(double: BedrockDouble) -> None:
    config = {"tools": [WEATHER], "toolChoice": {"tool": {"name": "get_time"}}}
    assert refusal(converse(double, {"messages": [user()], "toolConfig": config})) == (
        400,
        "ValidationException",
        "The model returned the following errors: tool_choice.name: Tool 'get_time' not found in provided tools",
    )


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (
            "not an object",
            "The format of the value at toolConfig.tools.0.toolSpec.inputSchema.json is invalid. Provide a json "
            "object for the field and try again.",
        ),
        (
            {"type": "array"},
            "The value at toolConfig.tools.0.toolSpec.inputSchema.json.type must be one of the following: object.",
        ),
        (
            {"type": "object", "properties": None},
            "The json schema definition at toolConfig.tools.0.toolSpec.inputSchema is invalid. Fix the following "
            "errors and try again: $.properties: null found, object expected",
        ),
        (
            {"type": "object", "properties": {"city": {"type": "text"}}},
            "The json schema definition at toolConfig.tools.0.toolSpec.inputSchema is invalid. Fix the following "
            "errors and try again: $.properties.city.type: does not have a value in the enumeration "
            "['array', 'boolean', 'integer', 'null', 'number', 'object', 'string']",
        ),
    ],
)
def test_malformed_tool_schemas_are_refused(double: BedrockDouble, schema: Any, message: str) -> None:
    tool = {"toolSpec": {"name": "broken", "inputSchema": {"json": schema}}}
    assert refusal(converse(double, {"messages": [user()], "toolConfig": {"tools": [tool]}})) == (
        400,
        "ValidationException",
        message,
    )


def test_the_double_signs_its_own_thinking_and_accepts_it_back(double: BedrockDouble) -> None:
    config = {"tools": [WEATHER], "toolChoice": {"auto": {}}}  # thinking refuses a forced choice
    asks = user({"text": "[[double:tool]] Weather?"})
    first = converse(
        double, {"messages": [asks], "toolConfig": config, "additionalModelRequestFields": THINKING}
    )
    content = first.json()["output"]["message"]["content"]
    assert "reasoningContent" in content[0] and "toolUse" in content[1]
    result = {"toolResult": {"toolUseId": content[1]["toolUse"]["toolUseId"], "content": [{"text": "Sunny"}]}}
    body = {
        "messages": [asks, {"role": "assistant", "content": content}, user(result)],
        "toolConfig": {"tools": [WEATHER]},
        "additionalModelRequestFields": THINKING,
    }
    assert converse(double, body).status_code == 200
