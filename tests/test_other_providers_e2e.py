"""A catalog route to another LiteLLM provider, its key read from Secrets Manager (moto).

Secrets Manager is moto's threaded server. The "other provider" is a second pennyworth (the session gateway, OpenAI-compatible, backed by the double):
the outer gateway reaches it through LiteLLM's OpenAI client with the key it read from Secrets Manager.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import boto3
import openai
import pytest

from pennyworth.api.app import create_app
from tests.conftest import API_KEY
from tests.support.servers import serve_app


@pytest.fixture
def outer_gateway(make_settings, dynamodb: str, gateway_url: str, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", dynamodb)  # moto's server speaks every service
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    arn = secrets.create_secret(
        Name=f"pennyworth/upstream-{uuid.uuid4().hex}", SecretString=json.dumps({"api_key": API_KEY})
    )["ARN"]
    models = tmp_path / "models.yaml"
    models.write_text(
        "models:\n"
        f"  - {{name: upstream-chat, kind: chat, provider: openai, model_id: nova-pro, api_base: '{gateway_url}/v1',"
        f" api_key_secret_arn: '{arn}', capabilities: [tools]}}\n"
        "  - {name: titan-embed-text-v2, kind: embedding, model_id: 'amazon.titan-embed-text-v2:0'}\n"
        "  - {name: claude-sonnet-5-5, kind: chat, model_id: us.anthropic.claude-sonnet-5-5}\n"
        "  - {name: claude-haiku-5-5, kind: chat, model_id: us.anthropic.claude-haiku-5-5}\n"
    )
    with serve_app(create_app(make_settings(models_file=models))) as url:
        yield openai.OpenAI(base_url=f"{url}/v1", api_key=API_KEY, max_retries=0, timeout=30)


def test_whole_answer_through_another_provider(outer_gateway: openai.OpenAI, double) -> None:
    reply = outer_gateway.chat.completions.create(
        model="upstream-chat", messages=[{"role": "user", "content": "relay me"}]
    )
    assert reply.choices[0].message.content == "This is a simulated Bedrock reply to: relay me"
    assert reply.model == "upstream-chat"
    assert reply.usage.completion_tokens == 9


def test_streamed_answer_through_another_provider(outer_gateway: openai.OpenAI) -> None:
    chunks = list(
        outer_gateway.chat.completions.create(
            model="upstream-chat",
            messages=[{"role": "user", "content": "[[double:chunks=5]]"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "w0 w1 w2 w3 w4"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5


def test_provider_errors_are_mapped(outer_gateway: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError):
        outer_gateway.chat.completions.create(
            model="upstream-chat",
            messages=[{"role": "user", "content": "[[double:error=ThrottlingException]]"}],
        )
