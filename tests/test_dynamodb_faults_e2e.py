"""DynamoDB failing under the gateway: refused connections and a server that accepts but never answers give a
503 `service_unavailable` with Retry-After in the API's envelope within the control plane's deadline (never a
500 or a minute-long stall); a ledger write that cannot be made after the answer is logged with every figure
and counted in `LedgerWriteFailures`; a write applied whose answer was lost is not counted twice; and the
running gateway recovers by itself when DynamoDB comes back."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pennyworth.access.keys import KeyStore, new_key
from pennyworth.access.table import create_table, table
from pennyworth.access.usage import UsageLedger
from pennyworth.api.app import create_app
from pennyworth.settings import Settings
from pennyworth_dev.dynamodb import LocalDynamoDB
from tests.support.servers import serve_app


@pytest.fixture(scope="module")
def faulty() -> Iterator[LocalDynamoDB]:
    server = LocalDynamoDB()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def setup(double, faulty: LocalDynamoDB) -> Iterator[dict[str, Any]]:
    from tests.conftest import gateway_settings

    name = f"faults-{uuid.uuid4().hex[:8]}"
    settings = Settings(AWS_ENDPOINT_URL_DYNAMODB=faulty.url, table_name=name)
    create_table(settings)
    store = KeyStore(table(settings))
    limited_id, limited = new_key()
    store.create({"name": "limited", "rpm": 1000}, full_key=(limited_id, limited))
    plain_id, plain = new_key()
    store.create({"name": "plain"}, full_key=(plain_id, plain))
    # `strict` reads the key on every request; `cached` trusts it for the test's duration.
    strict = gateway_settings(double, faulty.url, name, key_cache_seconds=0, dynamodb_deadline_seconds=0.5)
    cached = gateway_settings(
        double, faulty.url, name, key_cache_seconds=600, dynamodb_deadline_seconds=0.5, emit_metrics=True
    )
    with serve_app(create_app(strict)) as strict_url, serve_app(create_app(cached)) as cached_url:
        yield {
            "strict": strict_url,
            "cached": cached_url,
            "limited": limited,
            "plain": plain,
            "plain_id": plain_id,
            "ledger": UsageLedger(table(settings)),
        }
    faulty.faults.answer_requests()


def chat(url: str, key: str) -> httpx.Response:
    body = {"model": "nova-pro", "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(
        f"{url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=60
    )


def message(url: str, key: str) -> httpx.Response:
    body = {"model": "claude-sonnet-5-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(f"{url}/v1/messages", json=body, headers={"x-api-key": key}, timeout=60)


def assert_unavailable(openai_style: httpx.Response, anthropic_style: httpx.Response) -> None:
    assert openai_style.status_code == 503, openai_style.text
    assert openai_style.json()["error"]["code"] == "service_unavailable"
    assert int(openai_style.headers["Retry-After"]) >= 1
    assert anthropic_style.status_code == 503, anthropic_style.text
    body = anthropic_style.json()
    assert body["type"] == "error" and body["error"]["type"] == "api_error"
    assert int(anthropic_style.headers["Retry-After"]) >= 1


def test_refused_connections_are_a_503_and_the_gateway_recovers(setup, faulty: LocalDynamoDB) -> None:
    assert chat(setup["cached"], setup["limited"]).status_code == 200  # its key is cached from here on
    faulty.refuse_connections()
    try:
        # a key that must be read, and a cached key whose limits must be checked: neither can be
        assert_unavailable(chat(setup["strict"], setup["plain"]), message(setup["strict"], setup["plain"]))
        assert_unavailable(
            chat(setup["cached"], setup["limited"]), message(setup["cached"], setup["limited"])
        )
    finally:
        faulty.accept_connections()
    assert chat(setup["strict"], setup["plain"]).status_code == 200  # no restart needed
    assert message(setup["cached"], setup["limited"]).status_code == 200


def test_a_stalled_dynamodb_is_a_503_within_the_deadline(setup, faulty: LocalDynamoDB) -> None:
    faulty.faults.stall_requests()
    try:
        assert_unavailable(chat(setup["strict"], setup["plain"]), message(setup["strict"], setup["plain"]))
    finally:
        faulty.faults.answer_requests()
    assert chat(setup["strict"], setup["plain"]).status_code == 200


def test_a_lost_ledger_write_is_logged_and_counted(setup, faulty: LocalDynamoDB, caplog, capfd) -> None:
    assert chat(setup["cached"], setup["plain"]).status_code == 200  # the key is cached: no read below
    before = sum(r.requests for r in setup["ledger"].rows(setup["plain_id"]))
    faulty.faults.stall_requests()
    try:
        with caplog.at_level(logging.ERROR, logger="pennyworth.access.usage"):
            answered = chat(setup["cached"], setup["plain"])
    finally:
        faulty.faults.answer_requests()
    assert answered.status_code == 200  # the answer was computed: the client gets it
    usage = answered.json()["usage"]
    assert f"USAGE#{setup['plain_id']}" in caplog.text
    assert f"'prompt_tokens': {usage['prompt_tokens']}" in caplog.text
    assert f"'completion_tokens': {usage['completion_tokens']}" in caplog.text
    assert '"LedgerWriteFailures"' in capfd.readouterr().out
    assert sum(r.requests for r in setup["ledger"].rows(setup["plain_id"])) in (before, before + 1)


def test_a_write_applied_but_unanswered_is_counted_once(setup, faulty: LocalDynamoDB) -> None:
    assert chat(setup["cached"], setup["plain"]).status_code == 200
    before = sum(r.requests for r in setup["ledger"].rows(setup["plain_id"]))
    faulty.faults.lose_answers = 1  # the ledger write is applied, then answered with a 500
    assert chat(setup["cached"], setup["plain"]).status_code == 200
    assert faulty.faults.lose_answers == 0
    assert sum(r.requests for r in setup["ledger"].rows(setup["plain_id"])) == before + 1
