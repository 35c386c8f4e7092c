"""The Bedrock double refuses Claude InvokeModel bodies the way Bedrock does (status, error type, message).

Each rule here is one our gateway must respect; a double that accepted these would hide the bug.
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
from pennyworth_dev.double_rules import THINKING_FIRST, redacted_data, sign_thinking


def invoke(
    double: BedrockDouble, model_id: str, body: dict[str, Any], operation: str = "invoke"
) -> httpx.Response:
    """A SigV4-signed InvokeModel call straight to the double."""
    url = f"{double.url}/model/{model_id}/{operation}"
    request = AWSRequest(
        method="POST", url=url, data=json.dumps(body), headers={"content-type": "application/json"}
    )
    SigV4Auth(Credentials(*TEST_CREDENTIALS), "bedrock", "us-east-1").add_auth(request)
    return httpx.post(url, content=request.body, headers=dict(request.headers.items()))


def claude_body(**fields: Any) -> dict[str, Any]:
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 20,
        "messages": [{"role": "user", "content": "hi"}],
        **fields,
    }


def assert_refused(response: httpx.Response, message: str) -> None:
    assert response.status_code == 400
    assert response.headers["x-amzn-ErrorType"].startswith("ValidationException:")
    assert response.json() == {"message": message}


def test_system_role_inside_messages_is_refused(double: BedrockDouble) -> None:
    messages = [{"role": "user", "content": "hi"}, {"role": "system", "content": "env"}]
    response = invoke(double, "us.anthropic.claude-opus-5-5", claude_body(messages=messages))
    assert_refused(response, "messages.1.role: Input should be 'user' or 'assistant'")


@pytest.mark.parametrize("operation", ["invoke", "invoke-with-response-stream"])
def test_unknown_beta_flag_is_refused(double: BedrockDouble, operation: str) -> None:
    body = claude_body(anthropic_beta=["claude-code-20250219"])
    response = invoke(double, "us.anthropic.claude-sonnet-4-6", body, operation)
    assert_refused(response, "invalid beta flag")


@pytest.mark.parametrize(
    ("model_id", "status"),
    [
        ("us.anthropic.claude-opus-5-5", 400),
        ("us.anthropic.claude-opus-4-7", 400),
        ("anthropic.claude-sonnet-4-6", 200),
    ],
)
def test_fine_grained_tool_streaming_is_refused_by_the_newest_models(
    double: BedrockDouble, model_id: str, status: int
) -> None:
    body = claude_body(anthropic_beta=["fine-grained-tool-streaming-2025-05-14"])
    response = invoke(double, model_id, body)
    assert response.status_code == status
    if status == 400:
        assert_refused(response, "invalid beta flag")


def test_count_tokens_validates_the_body_it_wraps(double: BedrockDouble) -> None:
    inner = claude_body(anthropic_beta=["fine-grained-tool-streaming-2025-05-14"])
    encoded = base64.b64encode(json.dumps(inner).encode()).decode()
    response = invoke(
        double, "anthropic.claude-opus-5-5", {"input": {"invokeModel": {"body": encoded}}}, "count-tokens"
    )
    assert_refused(response, "invalid beta flag")


# --- Claude's thinking rules, as on Converse (double_rules): the Messages route passes blocks through ----------


def tool_turn(*assistant_blocks: dict[str, Any], thinking: bool = True) -> dict[str, Any]:
    """A follow-up body: the user asked, the assistant used a tool (opening with `assistant_blocks`), the result."""
    tool_use = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
    return claude_body(
        max_tokens=2000,
        tools=[{"name": "get_weather", "input_schema": {"type": "object"}}],
        **({"thinking": {"type": "enabled", "budget_tokens": 1024}} if thinking else {}),
        messages=[
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": [*assistant_blocks, tool_use]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny"}],
            },
        ],
    )


def test_a_tool_turn_without_its_thinking_is_refused_while_thinking_is_on(double: BedrockDouble) -> None:
    response = invoke(double, "us.anthropic.claude-sonnet-5-5", tool_turn())
    assert_refused(response, f"messages.1.content.0.type: {THINKING_FIRST}")
    assert invoke(double, "us.anthropic.claude-sonnet-5-5", tool_turn(thinking=False)).status_code == 200


def test_thinking_replays_only_with_the_signature_given_for_its_text(double: BedrockDouble) -> None:
    text = "Let me think this through."
    signed = {"type": "thinking", "thinking": text, "signature": sign_thinking(text)}
    assert invoke(double, "us.anthropic.claude-sonnet-5-5", tool_turn(signed)).status_code == 200
    altered = {**signed, "thinking": text + " And more."}
    response = invoke(double, "us.anthropic.claude-sonnet-5-5", tool_turn(altered))
    assert_refused(response, "messages.1.content.0: Invalid `signature` in `thinking` block")
    unsigned = {"type": "thinking", "thinking": text}
    response = invoke(double, "us.anthropic.claude-sonnet-5-5", tool_turn(unsigned))
    assert_refused(response, "messages.1.content.0.thinking.signature: Field required")


def test_redacted_thinking_replays_only_as_given(double: BedrockDouble) -> None:
    given = {"type": "redacted_thinking", "data": redacted_data()}
    assert invoke(double, "us.anthropic.claude-sonnet-5-5", tool_turn(given)).status_code == 200
    forged = {"type": "redacted_thinking", "data": base64.b64encode(b"made up").decode()}
    response = invoke(double, "us.anthropic.claude-sonnet-5-5", tool_turn(forged))
    assert_refused(response, "messages.1.content.0: Invalid `data` in `redacted_thinking` block")
