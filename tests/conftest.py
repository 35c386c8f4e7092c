"""Fixtures: the Bedrock double, the gateway under uvicorn on loopback, and real OpenAI SDK clients.

The environment is fixed before anything imports boto3 or LiteLLM: test credentials the double verifies
SigV4 signatures against, no instance-metadata lookups, LiteLLM's bundled price map.
"""

from __future__ import annotations

import os

from pennyworth_dev.bedrock_double import TEST_CREDENTIALS, BedrockDouble

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": TEST_CREDENTIALS[0],
        "AWS_SECRET_ACCESS_KEY": TEST_CREDENTIALS[1],
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
)
for name in (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
    "AWS_BEDROCK_RUNTIME_ENDPOINT",
):
    os.environ.pop(name, None)

from collections.abc import Iterator  # noqa: E402

import openai  # noqa: E402
import pytest  # noqa: E402

from pennyworth.api.app import create_app  # noqa: E402
from pennyworth.settings import Settings  # noqa: E402
from tests.support.servers import serve_app  # noqa: E402

API_KEY = "pw-test-key-0123456789"


@pytest.fixture(scope="session")
def double() -> Iterator[BedrockDouble]:
    with BedrockDouble() as running:
        yield running


def gateway_settings(double: BedrockDouble, **overrides) -> Settings:
    values = {
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": double.url,
        "api_keys": f"test-key:{API_KEY}",
        "stream_keepalive_seconds": 15.0,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture(scope="session")
def gateway_url(double: BedrockDouble) -> Iterator[str]:
    with serve_app(create_app(gateway_settings(double))) as url:
        yield url


@pytest.fixture
def client(gateway_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=API_KEY, max_retries=0, timeout=30)
