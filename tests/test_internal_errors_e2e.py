"""A bug in the gateway is a 500 in the API's envelope, the keep-alive connection stays usable, and the log
line it leaves carries the traceback without the exception's text (which may quote the request)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from pennyworth.api.app import create_app
from tests.support.servers import serve_app

CANARY = "canary-7f3e-do-not-log"


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(logging.Formatter().format(record))


def _with_a_bug(app: FastAPI) -> FastAPI:
    """The real app plus one route that fails the way a bug would (raising with request content)."""

    async def broken(body: dict[str, str]) -> None:
        raise RuntimeError(f"bug while handling {body.get('text')}")

    app.add_api_route("/v1/broken", broken, methods=["POST"])
    app.add_api_route("/v1/messages/broken", broken, methods=["POST"])
    return app


@pytest.fixture
def buggy_url(make_settings) -> Iterator[str]:
    with serve_app(_with_a_bug(create_app(make_settings()))) as url:
        yield url


@pytest.mark.parametrize(("path", "anthropic"), [("/v1/broken", False), ("/v1/messages/broken", True)])
def test_500_keeps_the_connection_usable(buggy_url: str, path: str, anthropic: bool) -> None:
    with httpx.Client(base_url=buggy_url, timeout=10) as client:
        failed = client.post(path, json={"text": "x"})
        assert failed.status_code == 500
        assert failed.headers.get("connection", "").lower() != "close"
        body = failed.json()
        if anthropic:
            assert body == {
                "type": "error",
                "error": {"type": "api_error", "message": body["error"]["message"]},
            }
        else:
            assert body["error"]["code"] == "internal_error"
        for _ in range(3):  # the same pooled connection, again and again
            assert client.get("/health").status_code == 200
            assert client.post(path, json={"text": "x"}).status_code == 500


def test_unexpected_exception_is_logged_without_its_text(buggy_url: str) -> None:
    captured = Records()
    logging.getLogger().addHandler(captured)
    try:
        response = httpx.post(f"{buggy_url}/v1/broken", json={"text": CANARY}, timeout=10)
    finally:
        logging.getLogger().removeHandler(captured)
    assert response.status_code == 500 and CANARY not in response.text
    (line,) = [line for line in captured.lines if "unhandled error" in line]
    assert "RuntimeError" in line and "Traceback" in line and "broken" in line
    assert all(CANARY not in line for line in captured.lines)
