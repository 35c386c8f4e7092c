"""The Lambda Web Adapter's after-restore hook, over real HTTP: it drops HTTP sessions and cached credentials,
and only the adapter (loopback, not through API Gateway) can call it. And the request log's source IP."""

from __future__ import annotations

import json
import logging

import httpx
import openai
from starlette.requests import Request

from pennyworth.api.app import create_app
from pennyworth.runtime.snapstart import AFTER_RESTORE_PATH, called_by_the_adapter
from tests.conftest import API_KEY
from tests.support.servers import serve_app

GATEWAY_CONTEXT = json.dumps({"requestId": "r-1", "identity": {"sourceIp": "198.51.100.7"}})


def signed_clients(app) -> list:
    return [app.state.services.metering.llm.runtime.http, app.state.services.metering._ledger._writer.http]


def test_the_adapter_hook_drops_sessions_and_credentials(make_settings) -> None:
    app = create_app(make_settings())
    with serve_app(app) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=API_KEY, max_retries=0)
        assert client.chat.completions.create(
            model="nova-pro", messages=[{"role": "user", "content": "before"}]
        )
        assert all(c._sessions and c._credentials is not None for c in signed_clients(app))

        through_api_gateway = httpx.post(url + AFTER_RESTORE_PATH, headers={"x-amzn-request-context": "{}"})
        assert through_api_gateway.status_code == 404
        assert through_api_gateway.json()["error"]["code"] == "unknown_url"
        assert all(c._sessions and c._credentials is not None for c in signed_clients(app))  # untouched

        from_the_adapter = httpx.post(url + AFTER_RESTORE_PATH)  # the adapter: an empty POST on loopback
        assert from_the_adapter.status_code == 204
        assert all(c._sessions == {} and c._credentials is None for c in signed_clients(app))
        assert client.chat.completions.create(
            model="nova-pro", messages=[{"role": "user", "content": "after"}]
        )
        assert httpx.get(url + AFTER_RESTORE_PATH).status_code == 405


def _request(client: tuple[str, int], headers: list[tuple[bytes, bytes]]) -> Request:
    return Request(
        {"type": "http", "method": "POST", "path": AFTER_RESTORE_PATH, "headers": headers, "client": client}
    )


def test_only_loopback_without_a_gateway_context_counts_as_the_adapter() -> None:
    assert called_by_the_adapter(_request(("127.0.0.1", 50000), []))
    assert called_by_the_adapter(_request(("::1", 50000), []))
    assert not called_by_the_adapter(_request(("203.0.113.9", 50000), []))
    assert not called_by_the_adapter(_request(("127.0.0.1", 50000), [(b"x-amzn-request-context", b"{}")]))


def test_the_request_log_carries_the_source_ip(make_settings) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("pennyworth")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)  # what the entry points' configure_logging sets
    try:
        with serve_app(create_app(make_settings())) as url:
            assert (
                httpx.get(f"{url}/health", headers={"x-amzn-request-context": GATEWAY_CONTEXT}).status_code
                == 200
            )
            assert httpx.get(f"{url}/health", headers={"x-request-id": "r-2"}).status_code == 200
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    lines = {r.correlation_id: r for r in records if r.getMessage() == "request"}  # type: ignore[attr-defined]
    assert lines["r-1"].source_ip == "198.51.100.7"  # type: ignore[attr-defined]
    assert lines["r-2"].source_ip == "127.0.0.1"  # type: ignore[attr-defined]
