"""Keys over HTTP: every header form against DynamoDB keys; revoked, expired, rotated keys; model allow-lists."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import openai
import pytest

from pennyworth.access.keys import KeyStore
from pennyworth.access.table import table
from pennyworth.api.app import create_app
from tests.support.servers import serve_app


@pytest.fixture(scope="module")
def fresh_gateway(double, dynamodb, table_name):
    """A gateway that re-reads keys on every request (key_cache_seconds=0)."""
    from tests.conftest import gateway_settings

    settings = gateway_settings(double, dynamodb, table_name, key_cache_seconds=0)
    with serve_app(create_app(settings)) as url:
        yield url, KeyStore(table(settings))


def sdk(url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)


def hello(client: openai.OpenAI, model: str = "nova-pro") -> str:
    reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    return reply.choices[0].message.content


def test_revoked_key_is_refused(fresh_gateway) -> None:
    url, store = fresh_gateway
    record, key = store.create({"name": "to revoke"})
    assert hello(sdk(url, key))
    store.revoke(record.key_id)
    with pytest.raises(openai.AuthenticationError) as caught:
        hello(sdk(url, key))
    assert caught.value.body["message"] == "Invalid API key provided."


def test_expired_key_is_refused(fresh_gateway) -> None:
    url, store = fresh_gateway
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    _, key = store.create({"name": "expired", "expires": past})
    with pytest.raises(openai.AuthenticationError) as caught:
        hello(sdk(url, key))
    assert caught.value.body["message"] == "Invalid API key provided."


def test_rotated_key(fresh_gateway) -> None:
    url, store = fresh_gateway
    record, old = store.create({"name": "rotating"})
    assert hello(sdk(url, old))
    _, new = store.rotate(record.key_id)
    assert hello(sdk(url, new))
    with pytest.raises(openai.AuthenticationError):
        hello(sdk(url, old))


def test_rotation_is_seen_even_through_the_cache(gateway_url: str, dynamodb, table_name) -> None:
    store = KeyStore(table(_settings(dynamodb, table_name)))  # the table behind the cached session gateway
    record, old = store.create({"name": "cached rotation"})
    assert hello(sdk(gateway_url, old))  # now cached for 60 s
    _, new = store.rotate(record.key_id)
    assert hello(sdk(gateway_url, new))  # a digest mismatch re-reads the record once


def _settings(dynamodb: str, table_name: str):
    from pennyworth.settings import Settings

    return Settings(AWS_ENDPOINT_URL_DYNAMODB=dynamodb, table_name=table_name)


def test_unknown_and_malformed_keys_get_the_same_answer(fresh_gateway) -> None:
    url, _ = fresh_gateway
    answers = set()
    for key in ("pw-0123456789ab-" + "A" * 43, "not-a-pennyworth-key", "pw-zz"):
        response = httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {key}"})
        answers.add((response.status_code, response.text))
    assert answers == {
        (
            401,
            '{"error":{"message":"Invalid API key provided.","type":"authentication_error","param":null,"code":"invalid_api_key"}}',
        )
    }


@pytest.mark.parametrize("header", ["Authorization", "x-api-key", "api-key"])
def test_each_header_form(fresh_gateway, header: str) -> None:
    url, store = fresh_gateway
    _, key = store.create({"name": f"header {header}"})
    value = f"Bearer {key}" if header == "Authorization" else key
    assert httpx.get(f"{url}/v1/models", headers={header: value}).status_code == 200


def test_model_allow_list_with_globs(fresh_gateway) -> None:
    url, store = fresh_gateway
    _, key = store.create(
        {"name": "claude only", "allowed_models": ("claude-haiku-*", "titan-embed-text-v2")}
    )
    client = sdk(url, key)
    assert {m.id for m in client.models.list()} == {
        "claude-haiku-5-5",
        "claude-haiku-4-5",
        "titan-embed-text-v2",
    }
    assert hello(client, "claude-haiku-4-5")
    with pytest.raises(openai.PermissionDeniedError) as caught:
        hello(client, "nova-pro")
    assert "nova-pro" in caught.value.body["message"] and caught.value.body["param"] == "model"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("nova-pro")
    assert client.embeddings.create(model="titan-embed-text-v2", input="x").data


def test_revocation_takes_effect_within_the_cache_time(double, dynamodb, table_name) -> None:
    from tests.conftest import gateway_settings

    settings = gateway_settings(double, dynamodb, table_name, key_cache_seconds=1.0)
    store = KeyStore(table(settings))
    record, key = store.create({"name": "revoked while cached"})
    with serve_app(create_app(settings)) as url:
        client = sdk(url, key)
        assert hello(client)  # verified and cached
        store.revoke(record.key_id)
        assert hello(client)  # still inside the cache time: documented behaviour
        time.sleep(1.1)
        with pytest.raises(openai.AuthenticationError):
            hello(client)
