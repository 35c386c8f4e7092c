"""The buffered Lambda path: every sample event in events/ through the Mangum handler, against the double."""

from __future__ import annotations

import asyncio
import importlib
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from pennyworth.access.keys import KeyStore
from pennyworth.access.table import table
from pennyworth.settings import Settings, get_settings

EVENTS = sorted((Path(__file__).parent.parent / "events").glob("*.json"))


EXAMPLE_KEY = ("00000000beef", "pw-00000000beef-local-example-key-for-sam-local-invoke-only")


@pytest.fixture(scope="module")
def handler(double, dynamodb: str, table_name: str):
    KeyStore(table(Settings(AWS_ENDPOINT_URL_DYNAMODB=dynamodb, table_name=table_name))).create(
        {"name": "sam local example"}, full_key=EXAMPLE_KEY
    )
    patch = pytest.MonkeyPatch()
    patch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", double.url)
    patch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb)
    patch.setenv("PENNYWORTH_TABLE_NAME", table_name)
    get_settings.cache_clear()
    module = importlib.import_module("pennyworth.runtime.lambda_handler")
    module = importlib.reload(module)  # build the app under this environment
    yield module.handler
    asyncio.get_event_loop().run_until_complete(module.handler.app.state.services.metering.aclose())
    patch.undo()
    get_settings.cache_clear()


def context() -> SimpleNamespace:
    return SimpleNamespace(
        function_name="pennyworth",
        aws_request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:pennyworth",
        get_remaining_time_in_millis=lambda: 900_000,
    )


def test_every_event_kind_is_present() -> None:
    names = {p.name for p in EVENTS}
    for prefix in ("rest", "httpapi", "functionurl"):
        assert {f"{prefix}-health.json", f"{prefix}-chat.json", f"{prefix}-unauthenticated.json"} <= names
    assert {"rest-models.json", "rest-chat-stream.json", "rest-embeddings.json"} <= names


@pytest.mark.parametrize("path", EVENTS, ids=lambda p: p.stem)
def test_event_through_mangum(handler, path: Path) -> None:
    event = json.loads(path.read_text())
    response = handler(event, context())
    body = response["body"]
    name = path.stem.split("-", 1)[1]
    if name == "unauthenticated":
        assert response["statusCode"] == 401
        assert json.loads(body)["error"]["type"] == "authentication_error"
        return
    assert response["statusCode"] == 200, body
    if name == "health":
        assert json.loads(body) == {"status": "ok"}
    elif name == "models":
        assert "claude-sonnet-5-5" in {m["id"] for m in json.loads(body)["data"]}
    elif name == "chat":
        reply = json.loads(body)
        assert (
            reply["choices"][0]["message"]["content"]
            == "This is a simulated Bedrock reply to: Hello from sam local"
        )
    elif name == "chat-stream":
        events = [e for e in body.split("\n\n") if e]
        assert events[-1] == "data: [DONE]"
        chunks = [json.loads(e[6:]) for e in events[:-1]]
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
        assert text == "This is a simulated Bedrock reply to: Hello from sam local"
        assert chunks[-1]["usage"]["total_tokens"] > 0
    elif name == "embeddings":
        data = json.loads(body)["data"]
        assert [d["index"] for d in data] == [0, 1] and len(data[0]["embedding"]) == 1024
    else:
        raise AssertionError(f"no expectation for {path.name}")
