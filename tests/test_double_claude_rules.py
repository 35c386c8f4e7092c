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
