"""API keys: every accepted header form, and the same generic 401 for anything else."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest

from pennyworth.access.auth import extract_api_key
from pennyworth.errors import Unauthenticated
from tests.conftest import API_KEY


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": f"Bearer {API_KEY}"},
        {"authorization": f"bearer   {API_KEY}  "},
        {"x-api-key": API_KEY},
        {"api-key": API_KEY},
    ],
)
def test_key_found_in_each_header(headers: dict[str, str]) -> None:
    assert extract_api_key(headers) == API_KEY


@pytest.mark.parametrize(
    "headers", [{}, {"authorization": "Basic abc"}, {"authorization": "Bearer "}, {"x-api-key": ""}]
)
def test_missing_key(headers: dict[str, str]) -> None:
    with pytest.raises(Unauthenticated) as caught:
        extract_api_key(headers)
    assert caught.value.code == "missing_api_key"


@pytest.mark.parametrize("header", ["Authorization", "x-api-key", "api-key"])
def test_each_header_form_over_http(gateway_url: str, header: str) -> None:
    value = f"Bearer {API_KEY}" if header == "Authorization" else API_KEY
    response = httpx.get(f"{gateway_url}/v1/models", headers={header: value})
    assert response.status_code == 200


def test_missing_key_over_http(gateway_url: str) -> None:
    response = httpx.get(f"{gateway_url}/v1/models")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_unknown_key_gets_generic_401(gateway_url: str) -> None:
    client = openai.OpenAI(base_url=f"{gateway_url}/v1", api_key="pw-nope-nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.models.list()
    assert caught.value.body["message"] == "Invalid API key provided."
    assert caught.value.body["code"] == "invalid_api_key"


def test_anthropic_sdk_key_header_authenticates(gateway_url: str) -> None:
    client = anthropic.Anthropic(base_url=gateway_url, api_key=API_KEY, max_retries=0)
    raw = client.models.with_raw_response.list()
    assert raw.status_code == 200 and raw.http_response.json()["data"]
