"""The newest Claude line through the gateway, against a double that refuses what Bedrock refuses.

Claude Code's `role: "system"` message, beta flags per model (and the retry when Bedrock still refuses one),
and model end of life (served by the successor, or refused naming it).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from pennyworth.api.app import create_app
from pennyworth.catalog import read_catalog_file
from pennyworth.settings import Settings
from pennyworth_dev.bedrock_double import BedrockDouble
from tests.conftest import API_KEY
from tests.support.servers import serve_app

HEADERS = {"Authorization": f"Bearer {API_KEY}", "anthropic-version": "2023-06-01"}
FINE_GRAINED = "fine-grained-tool-streaming-2025-05-14"
INTERLEAVED = "interleaved-thinking-2025-05-14"


def messages_body(model: str, messages: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": 64,
        "messages": messages or [{"role": "user", "content": "one two three four"}],
        **extra,
    }


def last_call(double: BedrockDouble, operation: str) -> tuple[str, dict[str, Any]]:
    _op, model_id, body = next(r for r in reversed(double.requests) if r[0] == operation)
    return model_id, body


# --- Claude Code's system-role message ----------------------------------------------------------------------


def test_system_role_message_joins_the_system_prompt(gateway_url: str, double: BedrockDouble) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {"role": "system", "content": "Working directory: /srv/project"},
    ]
    system = [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}]
    body = messages_body("claude-opus-5-5", messages, system=system, stream=True)
    response = httpx.post(f"{gateway_url}/v1/messages?beta=true", json=body, headers=HEADERS)
    assert response.status_code == 200, response.text
    assert "event: message_stop" in response.text
    _model, sent = last_call(double, "invoke-with-response-stream")
    assert [m["role"] for m in sent["messages"]] == ["user"]
    assert sent["system"] == [*system, {"type": "text", "text": "Working directory: /srv/project"}]


def test_system_role_message_in_count_tokens(gateway_url: str, double: BedrockDouble) -> None:
    messages = [
        {"role": "user", "content": "one two three four"},
        {"role": "system", "content": [{"type": "text", "text": "env"}]},
    ]
    body = {"model": "claude-sonnet-5-5", "messages": messages, "system": "Be brief."}
    response = httpx.post(f"{gateway_url}/v1/messages/count_tokens?beta=true", json=body, headers=HEADERS)
    assert response.status_code == 200, response.text
    operation, _model, sent = double.requests[-1]
    assert operation == "count-tokens"  # counted by Bedrock, not estimated after a refusal
    inner = _invoke_body(sent)
    assert inner["system"] == [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "env"}]
    assert response.json()["input_tokens"] >= 4


def test_only_system_messages_is_a_clear_400(gateway_url: str) -> None:
    body = messages_body("claude-sonnet-5-5", [{"role": "system", "content": "env"}])
    response = httpx.post(f"{gateway_url}/v1/messages", json=body, headers=HEADERS)
    assert response.status_code == 400
    assert (
        response.json()["error"]["message"] == "messages: at least one user or assistant message is required."
    )


# --- Anthropic server tools --------------------------------------------------------------------------------

WEATHER = {
    "name": "get_weather",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
def test_server_tools_are_dropped_and_named_in_a_header(
    gateway_url: str, double: BedrockDouble, path: str
) -> None:
    body = messages_body("claude-sonnet-5-5", tools=[WEATHER, WEB_SEARCH])
    response = httpx.post(f"{gateway_url}{path}", json=body, headers=HEADERS)
    assert response.status_code == 200, response.text
    assert response.headers["x-pennyworth-dropped-tools"] == "web_search"
    assert [t["name"] for t in _invoke_body(double.requests[-1][2])["tools"]] == ["get_weather"]


def test_forcing_a_server_tool_is_a_clear_400(gateway_url: str) -> None:
    body = messages_body(
        "claude-sonnet-5-5", tools=[WEB_SEARCH], tool_choice={"type": "tool", "name": "web_search"}
    )
    response = httpx.post(f"{gateway_url}/v1/messages", json=body, headers=HEADERS)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "tool_choice: 'web_search' is an Anthropic server tool, which Claude on Bedrock does not run."
    )


# --- beta flags per model -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "forwarded"),
    [("claude-opus-5-5", [INTERLEAVED]), ("claude-sonnet-4-6", [FINE_GRAINED, INTERLEAVED])],
)
def test_beta_flags_follow_the_model(
    gateway_url: str, double: BedrockDouble, model: str, forwarded: list[str]
) -> None:
    headers = {**HEADERS, "anthropic-beta": f"claude-code-20250219,{FINE_GRAINED},{INTERLEAVED}"}
    response = httpx.post(f"{gateway_url}/v1/messages", json=messages_body(model), headers=headers)
    assert response.status_code == 200, response.text
    assert last_call(double, "invoke")[1]["anthropic_beta"] == forwarded


@pytest.fixture
def lenient_catalog_gateway(make_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[str]:
    """A gateway whose catalog (wrongly) says Opus 5.5 takes fine-grained tool streaming: Bedrock refuses it."""
    spec = yaml.safe_load(read_catalog_file(None).model_dump_json())
    for entry in spec["models"]:
        if entry["name"] == "claude-opus-5-5":
            entry["betas"] = [FINE_GRAINED, INTERLEAVED]
    models = tmp_path / "models.yaml"
    models.write_text(yaml.safe_dump(spec))
    with serve_app(create_app(make_settings(models_file=models))) as url:
        yield url


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages?stream", "/v1/messages/count_tokens"])
def test_refused_beta_flag_is_retried_once_without_the_flags(
    lenient_catalog_gateway: str, double: BedrockDouble, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    headers = {**HEADERS, "anthropic-beta": f"{FINE_GRAINED},{INTERLEAVED}"}
    body = messages_body("claude-opus-5-5", stream=path.endswith("?stream"))
    if path.endswith("count_tokens"):
        body.pop("max_tokens")
    before = len(double.requests)
    with caplog.at_level(logging.WARNING, logger="pennyworth.anthropic"):
        response = httpx.post(
            f"{lenient_catalog_gateway}{path.removesuffix('?stream')}", json=body, headers=headers
        )
    assert response.status_code == 200, response.text
    sent = [call[2] for call in double.requests[before:]]
    betas = [_betas_in(call) for call in sent]
    assert betas == [[FINE_GRAINED, INTERLEAVED], []]
    assert f"retrying without ['{FINE_GRAINED}', '{INTERLEAVED}']" in caplog.text


def _invoke_body(call: dict[str, Any]) -> dict[str, Any]:
    """The InvokeModel body of a call (CountTokens wraps it, base64-encoded)."""
    if "input" not in call:
        return call
    return dict(json.loads(base64.b64decode(call["input"]["invokeModel"]["body"])))


def _betas_in(call: dict[str, Any]) -> list[str]:
    return list(_invoke_body(call).get("anthropic_beta", []))


# --- model end of life --------------------------------------------------------------------------------------


@pytest.fixture
def lifecycle_gateway(make_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[str]:
    spec = yaml.safe_load(read_catalog_file(None).model_dump_json())
    sonnet_4_6 = next(e for e in spec["models"] if e["name"] == "claude-sonnet-4-6")
    spec["models"] += [
        {
            **sonnet_4_6,
            "name": "old-served",
            "deprecated": "2001-01-01",
            "successor": "claude-sonnet-5-5",
            "after_end_of_life": "serve_successor",
        },
        {**sonnet_4_6, "name": "old-refused", "deprecated": "2001-01-01", "successor": "claude-sonnet-5-5"},
        {**sonnet_4_6, "name": "still-current", "deprecated": "2999-01-01", "successor": "claude-sonnet-5-5"},
    ]
    models = tmp_path / "models.yaml"
    models.write_text(yaml.safe_dump(spec))
    with serve_app(create_app(make_settings(models_file=models))) as url:
        yield url


def test_past_end_of_life_is_served_by_the_successor(lifecycle_gateway: str, double: BedrockDouble) -> None:
    chat = {"model": "old-served", "messages": [{"role": "user", "content": "hi"}]}
    response = httpx.post(f"{lifecycle_gateway}/v1/chat/completions", json=chat, headers=HEADERS)
    assert response.status_code == 200, response.text
    assert response.headers["x-pennyworth-served-model"] == "claude-sonnet-5-5"
    assert double.requests[-1][1] == "us.anthropic.claude-sonnet-5-5"
    response = httpx.post(
        f"{lifecycle_gateway}/v1/messages", json=messages_body("old-served"), headers=HEADERS
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-pennyworth-served-model"] == "claude-sonnet-5-5"
    assert response.json()["model"] == "old-served"  # Claude Code checks the name it asked for
    assert last_call(double, "invoke")[0] == "us.anthropic.claude-sonnet-5-5"


def test_past_end_of_life_refused_naming_the_successor(lifecycle_gateway: str, double: BedrockDouble) -> None:
    before = len(double.requests)
    response = httpx.post(
        f"{lifecycle_gateway}/v1/messages", json=messages_body("old-refused"), headers=HEADERS
    )
    assert response.status_code == 404
    assert response.json()["error"]["message"] == (
        "The model 'old-refused' reached its end of life on 2001-01-01. Use 'claude-sonnet-5-5' instead."
    )
    chat = {"model": "old-refused", "messages": [{"role": "user", "content": "hi"}]}
    response = httpx.post(f"{lifecycle_gateway}/v1/chat/completions", json=chat, headers=HEADERS)
    assert response.status_code == 404 and response.json()["error"]["code"] == "model_retired"
    assert len(double.requests) == before  # never reached Bedrock


def test_models_list_shows_what_is_current(lifecycle_gateway: str) -> None:
    response = httpx.get(f"{lifecycle_gateway}/v1/models", headers=HEADERS)
    names = [model["id"] for model in response.json()["data"]]
    assert "still-current" in names and "claude-sonnet-5-5" in names
    assert not {"old-served", "old-refused", "claude-sonnet-4-5"} & set(names)
    response = httpx.post(
        f"{lifecycle_gateway}/v1/messages", json=messages_body("still-current"), headers=HEADERS
    )
    assert response.status_code == 200 and "x-pennyworth-served-model" not in response.headers


def test_shipped_catalog_serves_sonnet_4_5_with_its_successor(
    gateway_url: str, double: BedrockDouble
) -> None:
    body = messages_body("claude-sonnet-4-5-20250929")
    response = httpx.post(f"{gateway_url}/v1/messages?beta=true", json=body, headers=HEADERS)
    assert response.status_code == 200, response.text
    assert response.headers["x-pennyworth-served-model"] == "claude-sonnet-5-5"
    assert last_call(double, "invoke")[0] == "us.anthropic.claude-sonnet-5-5"
    assert Settings().default_chat_model == "claude-sonnet-5-5"
