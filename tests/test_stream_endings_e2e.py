"""Streams that end badly, over real HTTP: a Responses stream failing mid-way ends in `response.failed`; a
client leaving before the first token (during keep-alives) closes the upstream Bedrock stream, records the
call once, and leaves no cleanup error behind — on all three streamed APIs."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from pennyworth.access.keys import KeyStore
from pennyworth.access.table import table
from pennyworth.access.usage import UsageLedger
from pennyworth.api.app import create_app
from pennyworth.settings import Settings
from tests.conftest import API_KEY
from tests.support.servers import serve_app


def sse_events(response: httpx.Response) -> list[dict[str, Any]]:
    frames = [f for f in response.read().decode().split("\n\n") if f.strip() and not f.startswith(":")]
    return [json.loads(f.split("data: ", 1)[1]) for f in frames]


def test_a_responses_stream_failing_after_it_began_ends_with_response_failed(gateway_url: str) -> None:
    body = {
        "model": "claude-haiku-4-5",
        "input": "[[double:chunks=5]] [[double:midstream_error=modelStreamErrorException]] [[double:error_after=2]]",
        "stream": True,
    }
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.stream("POST", f"{gateway_url}/v1/responses", json=body, headers=headers) as response:
        events = sse_events(response)
    kinds = [e["type"] for e in events]
    assert "error" not in kinds and kinds[-1] == "response.failed"
    assert [e["delta"] for e in events if e["type"] == "response.output_text.delta"] == ["w0 ", "w1 "]
    failed = events[-1]["response"]
    assert failed["status"] == "failed" and failed["error"]["code"] and failed["error"]["message"]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage() + (self.format(record) if record.exc_info else ""))


@pytest.fixture
def gateway_logs() -> Iterator[_Collect]:
    collect = _Collect()
    names = ("", "uvicorn", "uvicorn.error", "asyncio", "pennyworth")
    for name in names:
        logging.getLogger(name).addHandler(collect)
    yield collect
    for name in names:
        logging.getLogger(name).removeHandler(collect)


def _until(condition: Callable[[], bool], what: str) -> None:
    """Wait for something the server does after the client left (no timing is asserted, only the outcome)."""
    deadline = time.monotonic() + 20
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.02)


SLOW = "Hello [[double:first_token_delay=60]]"
ROUTES = {
    "chat": ("/v1/chat/completions", {"model": "nova-pro", "messages": [{"role": "user", "content": SLOW}]}),
    "responses": ("/v1/responses", {"model": "nova-pro", "input": SLOW}),
    "messages": (
        "/v1/messages",
        {"model": "claude-haiku-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": SLOW}]},
    ),
}


@pytest.mark.parametrize("api", list(ROUTES))
def test_a_client_leaving_during_keepalives_closes_upstream_and_is_recorded_once(
    api: str, make_settings: Callable[..., Settings], double: Any, gateway_logs: _Collect
) -> None:
    settings = make_settings(stream_keepalive_seconds=0.05)
    record, key = KeyStore(table(settings)).create({"name": f"leaver-{api}"})
    path, body = ROUTES[api]
    ledger = UsageLedger(table(settings))
    with serve_app(create_app(settings)) as url:
        open_before, disconnects_before = double.open_streams, double.disconnects
        with httpx.stream(
            "POST", f"{url}{path}", json={**body, "stream": True}, headers={"Authorization": f"Bearer {key}"}
        ) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if line.startswith(": keep-alive") or line.startswith("event: ping"):
                    break  # a keep-alive arrived while the model is still silent: leave now
        _until(
            lambda: double.disconnects > disconnects_before and double.open_streams == open_before,
            "the gateway closed its Bedrock stream",
        )
        _until(lambda: sum(r.requests for r in ledger.rows(record.key_id)) >= 1, "ledger record")
    rows = ledger.rows(record.key_id)
    assert sum(r.requests for r in rows) == 1 and sum(r.errors for r in rows) == 0
    assert not [m for m in gateway_logs.messages if "already running" in m or "never retrieved" in m]
    assert not [m for m in gateway_logs.messages if "Exception in ASGI application" in m]
