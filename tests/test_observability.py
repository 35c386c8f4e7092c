"""Structured request logs (correlation id, key id, no prompt text), EMF metrics per call, SnapStart hooks."""

from __future__ import annotations

import json
import logging
import sys
import time
import types

import httpx
import openai
import pytest

from pennyworth.api.app import create_app
from pennyworth.llm.types import Usage
from pennyworth.observability import correlation_id, emit_call_metrics
from tests.conftest import API_KEY, KEY_ID
from tests.support.servers import serve_app


def emf_documents(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{") and '"_aws"' in line]


def test_emf_document(capsys) -> None:
    emit_call_metrics(
        "claude-sonnet-5-5",
        Usage(prompt_tokens=12, completion_tokens=7, cache_read_tokens=3),
        0.5,
        42.0,
        False,
    )
    (document,) = emf_documents(capsys.readouterr().out)
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "pennyworth"
    assert sorted(directive["Dimensions"][0]) == ["model", "service"]
    assert document["model"] == "claude-sonnet-5-5"
    assert (document["InputTokens"], document["OutputTokens"], document["CachedTokens"]) == (
        [12.0],
        [7.0],
        [3.0],
    )
    assert (document["Requests"], document["UpstreamErrors"], document["CostUSD"]) == ([1.0], [0.0], [0.5])


def test_correlation_id_comes_from_api_gateway() -> None:
    context = json.dumps({"requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "stage": "prod"}).encode()
    assert correlation_id({b"x-amzn-request-context": context}) == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert correlation_id({b"x-request-id": b"abc"}) == "abc"
    assert len(correlation_id({})) == 32


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_request_log_line_and_metrics(make_settings, capfd) -> None:
    captured = Records()
    logging.getLogger("pennyworth").addHandler(captured)
    level = logging.getLogger("pennyworth").level
    logging.getLogger("pennyworth").setLevel(logging.INFO)  # what configure_logging sets in an entry point
    secret_prompt = "my secret prompt text 12345"
    context = json.dumps({"requestId": "req-0001"})
    try:
        with serve_app(create_app(make_settings(emit_metrics=True))) as url:
            response = httpx.post(
                f"{url}/v1/chat/completions",
                json={"model": "nova-pro", "messages": [{"role": "user", "content": secret_prompt}]},
                headers={"Authorization": f"Bearer {API_KEY}", "x-amzn-request-context": context},
            )
            assert response.status_code == 200 and response.headers["x-request-id"] == "req-0001"
    finally:
        logging.getLogger("pennyworth").removeHandler(captured)
        logging.getLogger("pennyworth").setLevel(level)
    (line,) = [
        r
        for r in captured.records
        if r.getMessage() == "request" and getattr(r, "correlation_id", "") == "req-0001"
    ]
    assert (line.status, line.path, line.method, line.key_id) == (200, "/v1/chat/completions", "POST", KEY_ID)
    assert all(secret_prompt not in str(vars(r)) and API_KEY not in str(vars(r)) for r in captured.records)
    usage = response.json()["usage"]
    out = capfd.readouterr().out
    (document,) = [d for d in emf_documents(out) if d.get("model") == "nova-pro"]
    assert (document["InputTokens"], document["OutputTokens"]) == (
        [usage["prompt_tokens"]],
        [usage["completion_tokens"]],
    )


def test_snapstart_restore_hook_resets_connections(make_settings, monkeypatch) -> None:
    registered = []
    runtime_module = types.ModuleType("snapshot_restore_py")  # what the Lambda runtime provides
    runtime_module.register_after_restore = lambda hook, *args: registered.append((hook, args))
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime_module)
    app = create_app(make_settings())
    ((hook, args),) = registered
    with serve_app(app) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=API_KEY, max_retries=0)
        assert client.chat.completions.create(
            model="nova-pro", messages=[{"role": "user", "content": "before"}]
        )
        clients = [
            app.state.services.metering.llm.runtime.http,
            app.state.services.metering._ledger._writer.http,
        ]
        assert all(c._sessions and c._credentials is not None for c in clients)
        hook(*args)  # as after a restore
        assert all(c._sessions == {} and c._credentials is None for c in clients)
        assert client.chat.completions.create(
            model="nova-pro", messages=[{"role": "user", "content": "after"}]
        )


def test_no_restore_hooks_outside_lambda(make_settings) -> None:
    from pennyworth.runtime.snapstart import register_restore_hooks

    assert "snapshot_restore_py" not in sys.modules
    assert register_restore_hooks(object()) is False


ENTRY_POINTS = {
    "pennyworth serve": lambda port: [
        sys.executable,
        "-m",
        "pennyworth.cli.main",
        "serve",
        "--port",
        str(port),
    ],
    "src/run.sh (what the Web Adapter runs)": lambda port: ["sh", "src/run.sh"],
}


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_an_entry_point_logs_one_json_line_per_request(
    double, dynamodb, table_name, tmp_path, entry_point: str
) -> None:
    """Under each real entry point the request line is printed once, as JSON, and nothing else repeats it."""
    import os
    import socket
    import subprocess
    from pathlib import Path

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",  # run.sh's `python`: this one
        "PORT": str(port),
        "PENNYWORTH_TABLE_NAME": table_name,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb,
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": double.url,
        "PENNYWORTH_LOG_LEVEL": "INFO",
    }
    out = (tmp_path / "serve.log").open("w+")
    server = subprocess.Popen(
        ENTRY_POINTS[entry_point](port),
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, (
                    tmp_path / "serve.log"
                ).read_text()
                time.sleep(0.2)
        response = httpx.post(
            f"http://127.0.0.1:{port}/v1/chat/completions",
            json={"model": "nova-pro", "messages": [{"role": "user", "content": "one line please"}]},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        assert response.status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    text = (tmp_path / "serve.log").read_text()
    chat_lines = [line for line in text.splitlines() if "/v1/chat/completions" in line]
    assert len(chat_lines) == 1, text
    record = json.loads(chat_lines[0])
    assert (record["message"], record["status"], record["key_id"]) == ("request", 200, KEY_ID)
    assert "one line please" not in text


def test_retries_and_failovers_are_counted_by_model(make_settings, capfd) -> None:
    text = "[[double:throttle_first=99]] [[double:throttle_model=us.anthropic.claude-sonnet-5-5]] counted"
    with serve_app(create_app(make_settings(emit_metrics=True, retry_base_seconds=0.01))) as url:
        response = httpx.post(
            f"{url}/v1/chat/completions",
            json={"model": "claude-sonnet-5-5", "messages": [{"role": "user", "content": text}]},
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=30,
        )
    assert response.status_code == 200
    (document,) = [d for d in emf_documents(capfd.readouterr().out) if "BedrockRetries" in d]
    assert document["model"] == "claude-sonnet-5-5"
    assert (document["BedrockRetries"], document["BedrockFailovers"]) == ([2.0], [1.0])


def _request_lines(caplog, status: int) -> list[logging.LogRecord]:
    """The request lines with `status`, waiting a little: the line is written once the response has gone out,
    so the client can hold its answer a moment before the server thread logs it."""
    deadline = time.monotonic() + 5
    while True:
        lines = [r for r in caplog.records if r.getMessage() == "request" and r.status == status]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.01)


def test_request_line_names_the_error_code_and_field_never_the_value(client, caplog) -> None:
    """A refused request's log line says why (code and field path), without the value that was sent."""

    caplog.set_level(logging.INFO, logger="pennyworth")
    secret = "value-that-must-not-be-logged"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="nova-pro", messages=[{"role": "user", "content": secret}], max_tokens=secret
        )
    (line,) = _request_lines(caplog, status=400)
    assert line.error == "invalid_value:max_tokens"
    assert all(secret not in str(vars(r)) for r in caplog.records)


@pytest.mark.parametrize(
    ("exception", "status", "raised"),
    [
        ("ValidationException", 400, openai.BadRequestError),
        ("ThrottlingException", 429, openai.RateLimitError),  # never mistaken for the key's own rate limit
    ],
)
def test_request_line_names_bedrocks_exception_when_bedrock_refused(
    client, caplog, exception: str, status: int, raised: type[Exception]
) -> None:
    """A refusal that came from Bedrock is told apart from the gateway's own: the line names Bedrock's exception."""
    caplog.set_level(logging.INFO, logger="pennyworth")
    with pytest.raises(raised):
        client.chat.completions.create(
            model="nova-pro", messages=[{"role": "user", "content": f"[[double:error={exception}]] hi"}]
        )
    (line,) = _request_lines(caplog, status=status)
    assert line.error == f"bedrock.{exception}"
