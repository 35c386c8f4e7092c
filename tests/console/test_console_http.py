"""The console over real HTTP without a browser: the gate, the CSRF rule, actions through the CLI's code."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from pennyworth.access.keys import KeyStore
from pennyworth.cli.console.app import Console
from pennyworth.cli.console.security import COOKIE


@contextmanager
def _session(console: Console, console_url: str) -> Iterator[httpx.Client]:
    """A client that opened the printed URL once and holds the cookie it was given."""
    base = f"http://127.0.0.1:{console.gate.port}"
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
        first = client.get(console_url)
        assert first.status_code == 303 and first.headers["location"] == "/"
        cookie = first.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        yield client


def test_every_request_needs_the_run_token(console: Console, console_url: str) -> None:
    base = f"http://127.0.0.1:{console.gate.port}"
    assert httpx.get(f"{base}/").status_code == 403
    assert httpx.get(f"{base}/usage").status_code == 403
    assert httpx.get(f"{base}/static/console.js").status_code == 403
    assert httpx.get(f"{base}/?token=wrong").status_code == 403
    assert httpx.get(f"{base}/", cookies={COOKIE: "wrong"}).status_code == 403
    with _session(console, console_url) as client:
        page = client.get("/")
        assert page.status_code == 200 and "<h1>Keys</h1>" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert "script-src 'self'" in page.headers["content-security-policy"]


def test_a_foreign_host_header_is_refused(console: Console, console_url: str) -> None:
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own Host."""
    with _session(console, console_url) as client:
        assert client.get("/", headers={"host": f"evil.example:{console.gate.port}"}).status_code == 403


def test_forms_need_the_csrf_value_and_the_same_origin(console: Console, console_url: str) -> None:
    with _session(console, console_url) as client:
        assert client.post("/keys", data={"name": "no csrf"}).status_code == 403
        forged = client.post(
            "/keys",
            data={"name": "cross", "csrf": console.gate.csrf},
            headers={"origin": "https://evil.example"},
        )
        assert forged.status_code == 403
    names = [r.name for r in console.store.list()]
    assert "no csrf" not in names and "cross" not in names


def test_create_rotate_update_revoke_through_the_cli_code(
    console: Console, console_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with _session(console, console_url) as client:
        created = client.post(
            "/keys", data={"name": "console made", "rpm": "30", "budget": "5", "csrf": console.gate.csrf}
        )
        assert created.status_code == 200
        secret = re.search(r'<code id="secret">(pw-[^<]+)</code>', created.text).group(1)
        key_id = secret.split("-")[1]
        record = console.store.get(key_id, consistent=True)
        assert record.matches(secret) and record.rpm == 30 and record.budget_usd == 5.0
        assert secret not in client.get(f"/keys/{key_id}").text  # shown once, never again

        updated = client.post(
            f"/keys/{key_id}/update",
            data={"rpm": "", "tpm": "1000", "budget": "7", "csrf": console.gate.csrf},
        )
        assert updated.status_code == 303
        record = console.store.get(key_id, consistent=True)
        assert (record.rpm, record.tpm, record.budget_usd) == (None, 1000, 7.0)

        rotated = client.post(f"/keys/{key_id}/rotate", data={"csrf": console.gate.csrf})
        new_secret = re.search(r'<code id="secret">(pw-[^<]+)</code>', rotated.text).group(1)
        record = console.store.get(key_id, consistent=True)
        assert record.matches(new_secret) and not record.matches(secret)

        assert client.post(f"/keys/{key_id}/revoke", data={"csrf": console.gate.csrf}).status_code == 303
        assert KeyStore.get(console.store, key_id, consistent=True).status == "revoked"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert secret not in logged and new_secret not in logged


def test_concurrency_and_max_tokens_caps_from_the_pages(console: Console, console_url: str) -> None:
    with _session(console, console_url) as client:
        created = client.post(
            "/keys", data={"name": "capped", "max_tokens": "512", "csrf": console.gate.csrf}
        )
        key_id = re.search(r'<code id="secret">pw-([0-9a-f]+)-', created.text).group(1)
        record = console.store.get(key_id, consistent=True)
        assert (record.max_concurrency, record.max_tokens) == (10, 512)  # the CLI's default for new keys
        client.post(
            f"/keys/{key_id}/update",
            data={"max_concurrency": "3", "max_tokens": "", "csrf": console.gate.csrf},
        )
        record = console.store.get(key_id, consistent=True)
        assert (record.max_concurrency, record.max_tokens) == (3, None)
        assert "3 in flight" in client.get(f"/keys/{key_id}").text


def test_bad_form_values_are_explained(console: Console, console_url: str) -> None:
    with _session(console, console_url) as client:
        page = client.post("/keys", data={"name": "x", "rpm": "lots", "csrf": console.gate.csrf})
        assert page.status_code == 400 and "rpm: expected a number" in page.text
        page = client.post("/keys", data={"name": "x", "expires": "soonish", "csrf": console.gate.csrf})
        assert page.status_code == 400 and "--expires" in page.text
        missing = client.get("/keys/000000000000")
        assert missing.status_code == 404
        assert client.get("/usage?from=2026-12-01&to=2026-01-01").status_code == 400


def test_pennyworth_console_serves_loopback_only_and_prints_its_url(dynamodb: str, table_name: str) -> None:
    """The real command: it prints a 127.0.0.1 URL with a token, and that URL opens the console."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": dynamodb, "PENNYWORTH_TABLE_NAME": table_name}
    command = [sys.executable, "-m", "pennyworth.cli.main", "console", "--port", "0", "--no-browser"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = re.search(r"(http://\S+)", line).group(1)
        assert url.startswith("http://127.0.0.1:") and "?token=" in url
        for _ in range(100):
            try:
                first = httpx.get(url, follow_redirects=False, timeout=5)
                break
            except httpx.TransportError:
                import time

                time.sleep(0.1)
        assert first.status_code == 303 and COOKIE in first.headers["set-cookie"]
        assert httpx.get(url.split("?")[0], timeout=5).status_code == 403
    finally:
        process.terminate()
        process.wait(timeout=20)
