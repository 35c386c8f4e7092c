"""Fixtures: the Bedrock double, DynamoDB (moto's threaded server), the gateway under uvicorn on loopback,
and real OpenAI SDK clients.

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
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_S3",
    "PENNYWORTH_INPUTS_BUCKET",
):
    os.environ.pop(name, None)

import logging  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import openai  # noqa: E402
import pytest  # noqa: E402

from pennyworth.access.keys import KeyStore, new_key  # noqa: E402
from pennyworth.access.table import create_table, table  # noqa: E402
from pennyworth.api.app import create_app  # noqa: E402
from pennyworth.settings import Settings  # noqa: E402
from pennyworth_dev.dynamodb import LocalDynamoDB  # noqa: E402
from pennyworth_dev.s3 import create_inputs_bucket  # noqa: E402
from tests.support.servers import serve_app  # noqa: E402

KEY_ID, API_KEY = new_key()


@pytest.fixture(autouse=True)
def gateway_records_reach_caplog() -> None:
    """The entry points stop the `pennyworth` logger propagating (its JSON handler owns the output); once one was
    imported, pytest's caplog (on the root logger) would no longer see a later test's gateway records."""
    logging.getLogger("pennyworth").propagate = True


@pytest.fixture(scope="session")
def double() -> Iterator[BedrockDouble]:
    with BedrockDouble() as running:
        yield running


@pytest.fixture(scope="session")
def dynamodb() -> Iterator[str]:
    with LocalDynamoDB() as url:
        yield url


@pytest.fixture(scope="session")
def table_name(dynamodb: str) -> str:
    """A session table holding the default test key (API_KEY)."""
    name = f"pennyworth-{uuid.uuid4().hex[:8]}"
    settings = Settings(AWS_ENDPOINT_URL_DYNAMODB=dynamodb, table_name=name)
    create_table(settings)
    KeyStore(table(settings)).create({"name": "test key"}, full_key=(KEY_ID, API_KEY))
    return name


INPUTS_BUCKET = "pennyworth-test-inputs"


def gateway_settings(double: BedrockDouble, dynamodb: str, table_name: str, **overrides) -> Settings:
    create_inputs_bucket(dynamodb, INPUTS_BUCKET)
    values = {
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": double.url,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb,
        "AWS_ENDPOINT_URL_S3": dynamodb,
        "inputs_bucket": INPUTS_BUCKET,
        "table_name": table_name,
        "stream_keepalive_seconds": 15.0,
        "dynamodb_deadline_seconds": 10.0,  # the local DynamoDB is one serialised Python process on a busy host
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def make_settings(double: BedrockDouble, dynamodb: str, table_name: str):
    """Settings for an extra gateway instance sharing the session's double and table."""
    return lambda **overrides: gateway_settings(double, dynamodb, table_name, **overrides)


@pytest.fixture(scope="session")
def gateway_url(double: BedrockDouble, dynamodb: str, table_name: str) -> Iterator[str]:
    with serve_app(create_app(gateway_settings(double, dynamodb, table_name))) as url:
        yield url


@pytest.fixture
def client(gateway_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=API_KEY, max_retries=0, timeout=30)
