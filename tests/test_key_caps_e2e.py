"""Per-key abuse limits: requests in flight (leases in DynamoDB, correct across instances, surviving an
instance that dies holding one), an optional cap on max_tokens, count_tokens under RPM, embedding inputs
counted one request each, and allow-lists that match catalog entries rather than raw provider ids."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from pennyworth.access.keys import KeyIdentity, KeyStore
from pennyworth.access.limits import Demand, Limiter
from pennyworth.access.table import table
from pennyworth.api.app import create_app
from pennyworth.aws.dynamodb import DynamoHttp
from pennyworth.errors import RateLimited
from pennyworth.settings import Settings
from tests.support.servers import serve_app

HELD = "[[double:chunks=100]] [[double:chunk_delay=0.05]] hold"


@pytest.fixture(scope="module")
def gateways(double, dynamodb, table_name):
    from tests.conftest import gateway_settings

    settings = gateway_settings(double, dynamodb, table_name)
    with serve_app(create_app(settings)) as first, serve_app(create_app(settings)) as second:
        yield [first, second], KeyStore(table(settings))


def headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def chat_body(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"model": "nova-pro", "messages": [{"role": "user", "content": text}], **extra}


def test_requests_in_flight_are_capped_across_instances(gateways) -> None:
    urls, store = gateways
    _, key = store.create({"name": "two at once", "max_concurrency": 2})
    with httpx.Client(timeout=30) as http:
        streams = [
            http.stream(
                "POST", f"{url}/v1/chat/completions", json=chat_body(HELD, stream=True), headers=headers(key)
            )
            for url in urls
        ]
        opened = [s.__enter__() for s in streams]
        lines = [response.iter_lines() for response in opened]
        try:
            for response, read in zip(opened, lines, strict=True):  # both have started: each holds a lease
                assert response.status_code == 200
                next(read)
            third = httpx.post(f"{urls[0]}/v1/chat/completions", json=chat_body(), headers=headers(key))
            assert third.status_code == 429
            assert (
                third.json()["error"]["code"] == "concurrency_limit_exceeded" and third.headers["Retry-After"]
            )
            for read in lines:  # read to the end: the lease is given back before [DONE]
                assert "data: [DONE]" in list(read)
        finally:
            for s in streams:
                s.__exit__(None, None, None)
    assert (
        httpx.post(f"{urls[1]}/v1/chat/completions", json=chat_body(), headers=headers(key)).status_code
        == 200
    )


def test_a_lease_left_by_a_dead_instance_expires(dynamodb, table_name) -> None:
    settings = Settings(AWS_ENDPOINT_URL_DYNAMODB=dynamodb, table_name=table_name)
    now = [1_000_000.0]
    identity = KeyIdentity(key_id=uuid.uuid4().hex[:12], max_concurrency=2)

    async def scenario() -> None:
        dynamo = DynamoHttp(settings)
        limiter = Limiter(dynamo, table_name, lease_seconds=900, clock=lambda: now[0])
        try:
            for _ in range(2):  # two requests whose instance died: never settled
                await limiter.admit(identity, Demand())
            with pytest.raises(RateLimited) as refused:
                await limiter.admit(identity, Demand())
            assert refused.value.code == "concurrency_limit_exceeded"
            now[0] += 901  # past the leases' expiry: swept, and the slot is free again
            await limiter.admit(identity, Demand())
        finally:
            await dynamo.aclose()

    asyncio.run(scenario())


def test_max_tokens_cap(gateways, double) -> None:
    urls, store = gateways
    _, key = store.create({"name": "short answers", "max_tokens": 16})
    over = httpx.post(f"{urls[0]}/v1/chat/completions", json=chat_body(max_tokens=100), headers=headers(key))
    assert over.status_code == 400
    assert over.json()["error"]["param"] == "max_tokens" and "16" in over.json()["error"]["message"]
    anthropic_body = {
        "model": "claude-sonnet-5-5",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "x"}],
    }
    refused = httpx.post(f"{urls[0]}/v1/messages", json=anthropic_body, headers={"x-api-key": key})
    assert refused.status_code == 400 and refused.json()["error"]["type"] == "invalid_request_error"
    marker = f"cap-{uuid.uuid4().hex}"
    assert (
        httpx.post(f"{urls[0]}/v1/chat/completions", json=chat_body(marker), headers=headers(key)).status_code
        == 200
    )
    (sent,) = [body for _, _, body in double.requests if marker in str(body)]
    assert sent["inferenceConfig"]["maxTokens"] == 16  # no max_tokens given: the key's cap applies


def test_count_tokens_is_admitted_under_rpm(gateways) -> None:
    urls, store = gateways
    _, key = store.create({"name": "counting", "rpm": 2})
    body = {"model": "claude-sonnet-5-5", "messages": [{"role": "user", "content": "count me"}]}
    statuses = [
        httpx.post(
            f"{urls[i % 2]}/v1/messages/count_tokens", json=body, headers={"x-api-key": key}
        ).status_code
        for i in range(5)
    ]
    assert statuses.count(200) == 2 and statuses.count(429) == 3


def test_each_embedding_input_counts_as_a_request(gateways) -> None:
    urls, store = gateways
    _, key = store.create({"name": "embedding", "rpm": 3})

    def embed(inputs: list[str]) -> httpx.Response:
        body = {"model": "titan-embed-text-v2", "input": inputs}
        return httpx.post(f"{urls[0]}/v1/embeddings", json=body, headers=headers(key), timeout=30)

    too_many = embed([f"text {i}" for i in range(5)])
    assert too_many.status_code == 400 and too_many.json()["error"]["param"] == "input"
    assert embed(["a", "b"]).status_code == 200
    assert embed(["c", "d"]).status_code == 429  # 2 + 2 > 3 in this minute


def test_raw_model_ids_are_off_by_default(gateway_url: str) -> None:
    from tests.conftest import API_KEY

    body = chat_body(model="global.anthropic.claude-sonnet-4-5-20250929-v1:0")
    refused = httpx.post(f"{gateway_url}/v1/chat/completions", json=body, headers=headers(API_KEY))
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "model_not_found"


def test_allow_list_globs_match_catalog_names_not_raw_ids(
    double, dynamodb, table_name, tmp_path: Path
) -> None:
    from tests.conftest import gateway_settings

    models = tmp_path / "models.yaml"
    models.write_text(
        "allow_raw_model_ids: true\n"
        "models:\n"
        "  - {name: claude-sonnet-5-5, kind: chat, model_id: us.anthropic.claude-sonnet-5-5}\n"
        "  - {name: nova-pro, kind: chat, model_id: 'us.amazon.nova-pro-v1:0'}\n"
        "  - {name: titan-embed-text-v2, kind: embedding, model_id: 'amazon.titan-embed-text-v2:0'}\n"
        "aliases: {}\n"
    )
    settings = gateway_settings(
        double,
        dynamodb,
        table_name,
        models_file=models,
        default_chat_model="nova-pro",
        default_fast_chat_model="nova-pro",
    )
    store = KeyStore(table(settings))
    raw = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
    _, globbed = store.create({"name": "sonnets", "allowed_models": ("*sonnet*",)})
    _, exact = store.create({"name": "exact", "allowed_models": (raw,)})
    with serve_app(create_app(settings)) as url:
        by_glob = httpx.post(
            f"{url}/v1/chat/completions", json=chat_body(model=raw), headers=headers(globbed)
        )
        assert by_glob.status_code == 403
        by_name = httpx.post(
            f"{url}/v1/chat/completions", json=chat_body(model="claude-sonnet-5-5"), headers=headers(globbed)
        )
        assert by_name.status_code == 200
        by_id = httpx.post(
            f"{url}/v1/chat/completions",
            json=chat_body(model="us.anthropic.claude-sonnet-5-5"),  # a catalog entry by its provider id
            headers=headers(globbed),
        )
        assert by_id.status_code == 200
        assert (
            httpx.post(
                f"{url}/v1/chat/completions", json=chat_body(model=raw), headers=headers(exact)
            ).status_code
            != 403
        )
