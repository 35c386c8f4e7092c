"""The usage ledger equals what clients saw, after a concurrent burst over two instances — streamed,
non-streamed, embeddings, upstream failures and streams cut off by the client."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import orjson
import pytest

from pennyworth.access.keys import KeyStore
from pennyworth.access.table import table
from pennyworth.access.usage import UsageLedger
from pennyworth.api.app import create_app
from pennyworth.catalog import ModelRoute
from pennyworth.llm.providers.prices import cost_usd
from pennyworth.llm.providers.tokens import count_text_tokens, estimate_prompt_tokens
from pennyworth.llm.types import Usage
from tests.support.servers import serve_app

NOVA = ModelRoute(name="nova-pro", kind="chat", provider="bedrock", model_id="us.amazon.nova-pro-v1:0")
CUT_PROMPT = "[[double:chunks=400]] [[double:chunk_delay=0.01]] long"


@pytest.fixture(scope="module")
def instances(double, dynamodb, table_name):
    from tests.conftest import gateway_settings

    settings = gateway_settings(double, dynamodb, table_name)
    with serve_app(create_app(settings)) as first, serve_app(create_app(settings)) as second:
        yield [first, second], KeyStore(table(settings)), UsageLedger(table(settings))


def whole(client: openai.OpenAI, i: int) -> dict:
    reply = client.chat.completions.create(
        model="nova-pro", messages=[{"role": "user", "content": f"question {i}"}]
    )
    return {"kind": "whole", "usage": reply.usage}


def streamed(client: openai.OpenAI, i: int) -> dict:
    chunks = list(
        client.chat.completions.create(
            model="nova-pro",
            messages=[{"role": "user", "content": f"[[double:chunks={5 + i}]]"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    return {"kind": "streamed", "usage": chunks[-1].usage}


def failed(client: openai.OpenAI, i: int) -> dict:
    try:
        client.chat.completions.create(
            model="nova-pro", messages=[{"role": "user", "content": "[[double:error=ModelErrorException]]"}]
        )
    except openai.APIStatusError as exc:
        return {"kind": "failed", "status": exc.status_code}
    raise AssertionError("expected an upstream failure")


def cut_off(client: openai.OpenAI, i: int) -> dict:
    stream = client.chat.completions.create(
        model="nova-pro", messages=[{"role": "user", "content": CUT_PROMPT}], stream=True
    )
    seen = ""
    for index, chunk in enumerate(stream):
        seen += chunk.choices[0].delta.content or ""
        if index == 6:
            break
    stream.close()
    return {"kind": "cut", "seen": seen}


def embedded(client: openai.OpenAI, i: int) -> dict:
    result = client.embeddings.create(model="titan-embed-text-v2", input=[f"text number {i}", "more"])
    return {"kind": "embedding", "usage": result.usage}


def test_ledger_totals_equal_client_seen_usage(instances) -> None:
    urls, store, ledger = instances
    record, key = store.create({"name": "ledger burst"})
    clients = [openai.OpenAI(base_url=f"{u}/v1", api_key=key, max_retries=0, timeout=30) for u in urls]
    plan = [whole] * 6 + [streamed] * 6 + [failed] * 4 + [cut_off] * 3 + [embedded] * 3
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda job: job[1](clients[job[0] % 2], job[0]), enumerate(plan)))

    deadline = time.monotonic() + 15  # cut-off streams are settled server-side after the client leaves
    while time.monotonic() < deadline:
        rows = ledger.rows(record.key_id)
        if sum(r.requests for r in rows) >= len(plan):
            break
        time.sleep(0.1)
    chat_rows = [r for r in rows if r.model == "nova-pro"]
    embed_rows = [r for r in rows if r.model == "titan-embed-text-v2"]

    seen = [r["usage"] for r in results if r["kind"] in ("whole", "streamed")]
    cut = [r for r in results if r["kind"] == "cut"]
    assert sum(r.requests for r in chat_rows) == 6 + 6 + 4 + 3
    assert sum(r.errors for r in chat_rows) == 4
    assert all(r["status"] == 502 for r in results if r["kind"] == "failed")

    # Whole and streamed answers: exactly what the clients were told. Cut-off streams: the prompt estimate
    # and at least what the client received, at most the full answer.
    cut_prompt = estimate_prompt_tokens(NOVA, [{"role": "user", "content": CUT_PROMPT}])
    assert sum(r.prompt_tokens for r in chat_rows) == sum(u.prompt_tokens for u in seen) + 3 * cut_prompt
    full_answer = count_text_tokens(NOVA, " ".join(f"w{i}" for i in range(400)))
    cut_completion = sum(r.completion_tokens for r in chat_rows) - sum(u.completion_tokens for u in seen)
    assert sum(count_text_tokens(NOVA, c["seen"]) for c in cut) <= cut_completion < 3 * full_answer

    seen_cost = sum(cost_usd(NOVA, Usage(u.prompt_tokens, u.completion_tokens)) for u in seen)
    ledger_cost = sum(r.cost_usd for r in chat_rows)
    assert ledger_cost == pytest.approx(seen_cost + cost_usd(NOVA, Usage(3 * cut_prompt, cut_completion)))

    embedding_usage = [r["usage"] for r in results if r["kind"] == "embedding"]
    assert sum(r.requests for r in embed_rows) == 3 and sum(r.errors for r in embed_rows) == 0
    assert sum(r.prompt_tokens for r in embed_rows) == sum(u.prompt_tokens for u in embedding_usage)


def test_usage_is_stored_before_the_stream_ends(instances) -> None:
    urls, store, ledger = instances
    record, key = store.create({"name": "before done"})
    client = openai.OpenAI(base_url=f"{urls[0]}/v1", api_key=key, max_retries=0)
    stream = client.chat.completions.create(
        model="nova-pro",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        if chunk.usage is not None:  # the usage chunk precedes [DONE]: the ledger already has the row
            rows = ledger.rows(record.key_id)
            assert [(r.requests, r.completion_tokens) for r in rows] == [(1, chunk.usage.completion_tokens)]


def test_requests_refused_before_bedrock_are_not_in_the_ledger(instances, double) -> None:
    urls, store, ledger = instances
    record, key = store.create({"name": "refusals", "rpm": 1000})
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    hi = [{"role": "user", "content": "hi"}]
    refused = [
        b'{"model": "nova-pro", "messages": [{"role": "user", "content": "\\ud800"}]}',  # not Unicode
        orjson.dumps(  # translation refuses it
            {
                "model": "nova-pro",
                "messages": hi,
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "r", "schema": {"$defs": 5}},
                },
            }
        ),
        orjson.dumps({"model": "nova-pro", "input": [{"type": "function_call", "name": "f"}]}),
    ]
    paths = ["/v1/chat/completions", "/v1/chat/completions", "/v1/responses"]
    before = len(double.requests)
    for path, body in zip(paths, refused, strict=True):
        assert httpx.post(f"{urls[0]}{path}", content=body, headers=headers).status_code == 400
    assert len(double.requests) == before and ledger.rows(record.key_id) == []
    ok = httpx.post(
        f"{urls[0]}/v1/chat/completions", json={"model": "nova-pro", "messages": hi}, headers=headers
    )
    assert ok.status_code == 200
    assert [(r.requests, r.errors) for r in ledger.rows(record.key_id)] == [(1, 0)]
