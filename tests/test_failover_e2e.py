"""Throttling absorbed: retries and failover before the first byte, never after; bounded by the deadline
(counted in attempts the double saw, not in seconds); the route that answered in a header and the ledger."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest

from pennyworth.access.keys import KeyStore
from pennyworth.access.table import table
from pennyworth.access.usage import UsageLedger
from pennyworth.api.app import create_app
from pennyworth_dev.bedrock_double import BedrockDouble
from tests.support.servers import serve_app

US, GLOBAL = "us.anthropic.claude-sonnet-5-5", "global.anthropic.claude-sonnet-5-5"


@pytest.fixture(scope="module")
def gateway(double, dynamodb, table_name) -> Iterator[tuple[str, str, str, UsageLedger]]:
    """A gateway with short backoff, and a fresh key whose ledger the tests read."""
    from tests.conftest import gateway_settings

    settings = gateway_settings(double, dynamodb, table_name, retry_base_seconds=0.01)
    record, key = KeyStore(table(settings)).create({"name": "failover"})
    with serve_app(create_app(settings)) as url:
        yield url, key, record.key_id, UsageLedger(table(settings))


def _chat(url: str, key: str, text: str, **extra: object) -> httpx.Response:
    body = {"model": "claude-sonnet-5-5", "messages": [{"role": "user", "content": text}], **extra}
    return httpx.post(
        f"{url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


def test_a_throttled_call_succeeds_through_a_retry(gateway, double: BedrockDouble) -> None:
    url, key, _, _ = gateway
    marker = uuid.uuid4().hex
    response = _chat(url, key, f"{marker} [[double:throttle_first=2]]")
    assert response.status_code == 200 and response.headers["x-pennyworth-route"] == US
    assert double.calls_to("converse", marker) == [US, US, US]


def test_a_throttled_model_fails_over_and_is_metered_on_the_fallback(gateway, double: BedrockDouble) -> None:
    url, key, key_id, ledger = gateway
    marker = uuid.uuid4().hex
    response = _chat(url, key, f"{marker} [[double:throttle_first=99]] [[double:throttle_model={US}]]")
    assert response.status_code == 200 and response.headers["x-pennyworth-route"] == GLOBAL
    assert double.calls_to("converse", marker) == [US, US, US, GLOBAL]
    (row,) = [r for r in ledger.rows(key_id) if GLOBAL in r.routes]
    assert row.model == "claude-sonnet-5-5" and row.errors == 0


def test_a_stream_fails_over_before_its_first_byte(gateway, double: BedrockDouble) -> None:
    url, key, _, _ = gateway
    marker = uuid.uuid4().hex
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)
    with client.chat.completions.with_streaming_response.create(
        model="claude-sonnet-5-5",
        messages=[
            {
                "role": "user",
                "content": f"{marker} [[double:throttle_first=99]] [[double:throttle_model={US}]]",
            }
        ],
        stream=True,
    ) as response:
        assert response.headers["x-pennyworth-route"] == GLOBAL
        assert any("simulated" in line for line in response.iter_lines())
    assert double.calls_to("converse-stream", marker) == [US, US, US, GLOBAL]


def test_a_stream_is_never_retried_once_content_was_sent(gateway, double: BedrockDouble) -> None:
    url, key, _, _ = gateway
    marker = uuid.uuid4().hex
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)
    text = f"{marker} [[double:chunks=10]] [[double:midstream_error=throttlingException]] [[double:error_after=3]]"
    stream = client.chat.completions.create(
        model="claude-sonnet-5-5", messages=[{"role": "user", "content": text}], stream=True
    )
    with pytest.raises(openai.APIError, match="throttling"):
        for _ in stream:
            pass
    assert double.calls_to("converse-stream", marker) == [US]


def test_client_errors_are_never_retried(gateway, double: BedrockDouble) -> None:
    url, key, _, _ = gateway
    marker = uuid.uuid4().hex
    response = _chat(url, key, f"{marker} [[double:error=ValidationException]]")
    assert response.status_code == 400
    assert double.calls_to("converse", marker) == [US]


def test_unavailable_is_retried_like_throttling(gateway, double: BedrockDouble) -> None:
    url, key, _, _ = gateway
    marker = uuid.uuid4().hex
    text = f"{marker} [[double:throttle_first=1]] [[double:throttle_error=ServiceUnavailableException]]"
    assert _chat(url, key, text).status_code == 200
    assert double.calls_to("converse", marker) == [US, US]


def _on_own_gateway(make_settings, directives: str, **settings: object) -> tuple[httpx.Response, str]:
    """One chat request through a gateway with these settings; the answer and the request's marker."""
    from tests.conftest import API_KEY

    marker = uuid.uuid4().hex
    with serve_app(create_app(make_settings(**settings))) as url:
        return _chat(url, API_KEY, f"{marker} {directives}"), marker


def test_the_deadline_bounds_the_waiting(make_settings, double: BedrockDouble) -> None:
    """With no time to wait, each route of the chain gets one try, then the client gets Bedrock's 429."""
    response, marker = _on_own_gateway(
        make_settings, "[[double:throttle_first=99]] [[double:retry_after=7]]", retry_deadline_seconds=0
    )
    assert response.status_code == 429 and response.headers["retry-after"] == "7"
    assert response.json()["error"]["type"] == "rate_limit_error"
    assert double.calls_to("converse", marker) == [US, GLOBAL]


def test_exhausted_retries_end_in_429_with_retry_after(gateway, double: BedrockDouble) -> None:
    url, key, _, _ = gateway
    marker = uuid.uuid4().hex
    response = _chat(url, key, f"{marker} [[double:throttle_first=99]]")
    assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1
    assert double.calls_to("converse", marker) == [US, US, US, GLOBAL, GLOBAL, GLOBAL]


def test_the_operator_can_turn_it_off(make_settings, double: BedrockDouble) -> None:
    response, marker = _on_own_gateway(make_settings, "[[double:throttle_first=1]]", absorb_throttling=False)
    assert response.status_code == 429
    assert double.calls_to("converse", marker) == [US]


def test_claude_code_messages_fail_over_too(gateway, double: BedrockDouble) -> None:
    url, key, _, _ = gateway
    marker = uuid.uuid4().hex
    client = anthropic.Anthropic(base_url=url, api_key=key, max_retries=0)
    raw = client.messages.with_raw_response.create(
        model="claude-sonnet-5-5",
        max_tokens=64,
        messages=[
            {
                "role": "user",
                "content": f"{marker} [[double:throttle_first=99]] [[double:throttle_model={US}]]",
            }
        ],
    )
    assert raw.headers["x-pennyworth-route"] == GLOBAL and raw.parse().content
    assert double.calls_to("invoke", marker) == [US, US, US, GLOBAL]


def test_a_fallback_to_another_model_needs_the_keys_permission() -> None:
    from pennyworth.access.keys import KeyIdentity
    from pennyworth.access.metering import for_key
    from pennyworth.catalog import ModelRoute

    other = ModelRoute(
        name="claude-opus-5-5", kind="chat", provider="bedrock", model_id="us.anthropic.claude-opus-5-5"
    )
    profile = ModelRoute(name="claude-sonnet-5-5", kind="chat", provider="bedrock", model_id=GLOBAL)
    route = ModelRoute(
        name="claude-sonnet-5-5", kind="chat", provider="bedrock", model_id=US, fallbacks=(profile, other)
    )
    assert for_key(KeyIdentity("k", allowed_models=("claude-sonnet-*",)), route).fallbacks == (profile,)
    assert for_key(KeyIdentity("k"), route).fallbacks == (profile, other)
