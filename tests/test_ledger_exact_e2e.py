"""The ledger counts what the model consumed: an abandoned Anthropic stream is charged the prompt Bedrock
counted in `message_start`, a stream that fails mid-way is charged what it produced (as an error), and key
updates write only what changed, so a concurrent update never undoes a revocation."""

from __future__ import annotations

import threading
import time

import anthropic
import openai
import pytest

from pennyworth.access.keys import KeyStore
from pennyworth.access.table import table
from pennyworth.access.usage import UsageLedger, UsageRow
from pennyworth.api.app import create_app
from tests.support.servers import serve_app


@pytest.fixture(scope="module")
def gateway(double, dynamodb, table_name):
    from tests.conftest import gateway_settings

    settings = gateway_settings(double, dynamodb, table_name)
    with serve_app(create_app(settings)) as url:
        yield url, KeyStore(table(settings)), UsageLedger(table(settings))


def row_when_written(ledger: UsageLedger, key_id: str) -> UsageRow:
    """The key's one ledger row; a stream cut off by its client is recorded in the server's cleanup."""
    deadline = time.monotonic() + 20
    while not (rows := ledger.rows(key_id)) and time.monotonic() < deadline:
        time.sleep(0.05)
    (row,) = rows
    return row


def test_abandoned_messages_stream_is_charged_bedrocks_prompt_count(gateway) -> None:
    url, store, ledger = gateway
    record, key = store.create({"name": "abandoned"})
    claude = anthropic.Anthropic(base_url=url, api_key=key, max_retries=0)
    prompt = "[[double:chunks=400]] [[double:chunk_delay=0.01]] " + "many words in this prompt " * 40
    with claude.messages.stream(
        model="claude-sonnet-5-5", max_tokens=1000, messages=[{"role": "user", "content": prompt}]
    ) as stream:
        counted = None
        for index, event in enumerate(stream):
            if event.type == "message_start":
                counted = event.message.usage.input_tokens
            if index == 8:
                break
    row = row_when_written(ledger, record.key_id)
    assert counted and row.prompt_tokens == counted  # Bedrock's count, not an estimate
    assert row.completion_tokens > 0 and row.errors == 0


def test_stream_failing_midway_records_what_was_consumed(gateway) -> None:
    url, store, ledger = gateway
    record, key = store.create({"name": "midstream"})
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)
    content = (
        "[[double:chunks=10]] [[double:midstream_error=modelStreamErrorException]] [[double:error_after=3]]"
    )
    received = ""
    with pytest.raises(openai.APIError):
        for chunk in client.chat.completions.create(
            model="nova-pro", messages=[{"role": "user", "content": content}], stream=True
        ):
            received += chunk.choices[0].delta.content or "" if chunk.choices else ""
    assert received
    row = row_when_written(ledger, record.key_id)
    assert (row.requests, row.errors) == (1, 1)
    assert row.prompt_tokens > 0 and row.completion_tokens > 0  # Bedrock bills what it produced


def test_a_concurrent_update_cannot_undo_a_revocation(gateway) -> None:
    _, store, _ = gateway
    records = [store.create({"name": f"race {i}"})[0] for i in range(4)]
    stop = threading.Event()

    def keep_updating(key_id: str) -> None:
        rpm = 1
        while not stop.is_set():
            store.update(key_id, {"rpm": rpm})
            rpm += 1

    for record in records:
        writers = [threading.Thread(target=keep_updating, args=(record.key_id,)) for _ in range(2)]
        for writer in writers:
            writer.start()
        time.sleep(0.05)
        store.revoke(record.key_id)
        time.sleep(0.05)
        stop.set()
        for writer in writers:
            writer.join()
        stop.clear()
        assert store.get(record.key_id, consistent=True).status == "revoked"
