"""Limits across instances: RPM and TPM windows and budgets, with two app instances sharing one DynamoDB.

Budgets are caps: each request reserves its worst-case cost before the call and is trued up after, so
concurrent requests overshoot a budget by at most one admitted request; a budgeted key is refused on a model
without a price instead of being charged $0."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from pennyworth.access.keys import KeyStore
from pennyworth.access.limits import period_id
from pennyworth.access.table import NANO, spend_key, table
from pennyworth.access.usage import UsageLedger
from pennyworth.api.app import create_app
from tests.support.servers import serve_app


@pytest.fixture(scope="module")
def two_instances(double, dynamodb, table_name, tmp_path_factory):
    """Two gateway instances (separate apps, caches and clients) on one table, with fixed prices."""
    from tests.conftest import gateway_settings

    models = Path(tmp_path_factory.mktemp("catalog")) / "models.yaml"
    models.write_text(
        "models:\n"
        "  - {name: priced, kind: chat, model_id: 'us.amazon.nova-pro-v1:0', "
        "input_cost_per_token: 0.001, output_cost_per_token: 0.001}\n"
        "  - {name: unpriced, kind: chat, model_id: 'us.example.unpriced-model-v1:0'}\n"
        "  - {name: claude-sonnet-5-5, kind: chat, model_id: us.anthropic.claude-sonnet-5-5}\n"
        "  - {name: claude-haiku-5-5, kind: chat, model_id: us.anthropic.claude-haiku-5-5}\n"
        "  - {name: titan-embed-text-v2, kind: embedding, model_id: 'amazon.titan-embed-text-v2:0'}\n"
    )
    settings = gateway_settings(double, dynamodb, table_name, models_file=models)
    with serve_app(create_app(settings)) as first, serve_app(create_app(settings)) as second:
        yield [first, second], KeyStore(table(settings))


def wait_for_fresh_window(margin: float = 15.0) -> None:
    """Start a burst early in a minute so it cannot straddle two windows."""
    into = time.time() % 60
    if into > 60 - margin:
        time.sleep(60 - into + 0.2)


def chat(
    url: str, key: str, text: str = "hi", *, model: str = "priced", max_tokens: int | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": text}]}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    return httpx.post(
        f"{url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


def test_rpm_admits_exactly_the_limit_across_instances(two_instances) -> None:
    urls, store = two_instances
    _, key = store.create({"name": "rpm", "rpm": 5})
    wait_for_fresh_window()
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda i: chat(urls[i % 2], key), range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 5 and statuses.count(429) == 15
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_tpm_counts_tokens_and_reconciles(two_instances) -> None:
    urls, store = two_instances
    record, key = store.create({"name": "tpm", "tpm": 40})
    wait_for_fresh_window(margin=20)
    used = []
    for i in range(10):
        response = chat(urls[i % 2], key)
        if response.status_code == 429:
            assert response.json()["error"]["code"] == "rate_limit_exceeded"
            break
        used.append(response.json()["usage"]["total_tokens"])
    else:
        raise AssertionError("the TPM limit never applied")
    assert sum(used[:-1]) < 40 <= sum(used)  # admitted while under the limit, refused once it was reached
    window = int(time.time() // 60) * 60
    item = store._table.get_item(Key={"PK": f"KEY#{record.key_id}", "SK": f"RATE#{window}"})["Item"]
    assert int(item["tokens"]) == sum(used)  # estimates trued up to the real usage
    assert int(item["requests"]) == len(used)
    assert int(item["expires_at"]) > window + 60  # cleans itself up through the table's TTL


def test_budget_stops_the_key_with_insufficient_quota(two_instances) -> None:
    urls, store = two_instances
    _, key = store.create({"name": "budget", "budget_usd": 0.03, "budget_period": "total"})
    spent = 0.0
    for i in range(10):
        response = chat(urls[i % 2], key)
        if response.status_code == 429:
            error = response.json()["error"]
            assert error["type"] == "insufficient_quota" and error["code"] == "insufficient_quota"
            break
        usage = response.json()["usage"]
        spent += usage["total_tokens"] * 0.001
    else:
        raise AssertionError("the budget never applied")
    assert spent >= 0.03 and spent - usage["total_tokens"] * 0.001 < 0.03


def test_budget_periods() -> None:
    moment = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
    assert period_id("daily", moment)[0] == "D2026-11-23"
    assert period_id("monthly", moment)[0] == "M2026-11"
    assert period_id("total", moment) == ("TOTAL", None)
    assert period_id("daily", moment)[1] > moment.timestamp()


def test_key_without_limits_is_not_limited(two_instances) -> None:
    urls, store = two_instances
    _, key = store.create({"name": "free"})
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = set(pool.map(lambda i: chat(urls[i % 2], key).status_code, range(16)))
    assert statuses == {200}


PRICE = 0.001  # USD per token, input and output alike, in the fixture's catalog


def spend(store: KeyStore, key_id: str) -> float:
    period, _ = period_id("total", datetime.now(UTC))
    item = store._table.get_item(Key=spend_key(key_id, period), ConsistentRead=True).get("Item") or {}
    return int(item.get("cost_nusd", 0)) / NANO


def test_twenty_concurrent_requests_overshoot_by_at_most_one(two_instances) -> None:
    urls, store = two_instances
    ledger = UsageLedger(store._table)
    budget = 0.0001
    record, key = store.create({"name": "tiny budget", "budget_usd": budget, "budget_period": "total"})
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda i: chat(urls[i % 2], key, max_tokens=20), range(20)))
    admitted = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    assert admitted and all(r.status_code == 429 for r in refused)
    assert {r.json()["error"]["code"] for r in refused} == {"insufficient_quota"}
    costs = [r.json()["usage"]["total_tokens"] * PRICE for r in admitted]
    spent = spend(store, record.key_id)
    assert spent == pytest.approx(sum(costs))  # reservations trued up to the real cost
    assert spent <= budget + max(costs)  # overshoot: at most what one admitted request cost
    (row,) = ledger.rows(record.key_id)
    assert row.requests == len(admitted) and row.cost_usd == pytest.approx(spent)


def test_reservation_is_refunded_to_the_real_cost(two_instances) -> None:
    urls, store = two_instances
    record, key = store.create({"name": "refund", "budget_usd": 5.0, "budget_period": "total"})
    response = chat(urls[0], key, max_tokens=500)
    assert response.status_code == 200
    assert spend(store, record.key_id) == pytest.approx(response.json()["usage"]["total_tokens"] * PRICE)


def test_budgeted_key_is_refused_on_an_unpriced_model(two_instances) -> None:
    urls, store = two_instances
    ledger = UsageLedger(store._table)
    record, key = store.create({"name": "unpriced", "budget_usd": 1.0})
    response = chat(urls[0], key, model="unpriced")
    assert response.status_code == 403
    error = response.json()["error"]
    assert (
        error["code"] == "model_not_priced" and error["param"] == "model" and "no price" in error["message"]
    )
    assert ledger.rows(record.key_id) == []  # never reached a model


def test_a_zero_budget_admits_nothing(two_instances) -> None:
    urls, store = two_instances
    _, key = store.create({"name": "zero", "budget_usd": 0.0, "budget_period": "total"})
    response = chat(urls[0], key)
    assert response.status_code == 429 and response.json()["error"]["code"] == "insufficient_quota"
