"""No request content in any log line: a canary string sent through every route, in answers that succeed and
in every kind of refusal or failure, never appears in what the process logged (records and its stdout/stderr).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from pennyworth.api.app import create_app
from pennyworth.observability import redact
from tests.conftest import API_KEY
from tests.support.servers import serve_app

CANARY = "zq-canary-4c1d-prompt"
HEADERS = {"Authorization": f"Bearer {API_KEY}"}


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(logging.Formatter().format(record) + repr(vars(record)))


def chat(content: Any, **extra: Any) -> dict[str, Any]:
    return {"model": "nova-pro", "messages": [{"role": "user", "content": content}], **extra}


def claude(content: Any, **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-5-5",
        "max_tokens": 32,
        "messages": [{"role": "user", "content": content}],
        **extra,
    }


TEXT = f"please remember {CANARY}"
SENT: list[tuple[str, Any]] = [
    # answered
    ("/v1/chat/completions", chat(TEXT)),
    ("/v1/chat/completions", chat(TEXT, stream=True)),
    ("/v1/embeddings", {"model": "titan-embed-text-v2", "input": [TEXT]}),
    ("/v1/responses", {"model": "nova-pro", "input": TEXT}),
    ("/v1/responses", {"model": "nova-pro", "input": TEXT, "stream": True}),
    ("/v1/messages", claude(TEXT)),
    ("/v1/messages", claude(TEXT, stream=True)),
    (
        "/v1/messages/count_tokens",
        {"model": "claude-sonnet-5-5", "messages": [{"role": "user", "content": TEXT}]},
    ),
    # refused by validation (pydantic's errors quote the input)
    ("/v1/chat/completions", chat({"text": TEXT})),
    ("/v1/chat/completions", chat(TEXT, tools=[{"type": "function", "function": {"name": CANARY + "."}}])),
    ("/v1/responses", {"model": "nova-pro", "input": [{"type": "function_call", "name": CANARY}]}),
    (
        "/v1/responses",
        {
            "model": "nova-pro",
            "input": TEXT,
            "tools": [{"type": "function", "name": "a.b", "description": TEXT}],
        },
    ),
    ("/v1/responses", {"model": "nova-pro", "input": [{"type": CANARY}]}),
    ("/v1/messages", claude([{"type": "text", "text": TEXT, "cache_control": CANARY}])),
    ("/v1/embeddings", {"model": "titan-embed-text-v2", "input": [TEXT, ""]}),
    # refused while parsing the body
    (
        "/v1/chat/completions",
        f'{{"model": "nova-pro", "messages": [{{"role": "user", "content": "{CANARY}\\ud800"}}]}}',
    ),
    ("/v1/chat/completions", f'{{"model": "nova-pro", "messages": [{{"role": "user", "content": "{CANARY}"'),
    # refused by the schema bounds, by translation, by Bedrock; failing mid-stream
    (
        "/v1/chat/completions",
        chat(
            TEXT,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "r", "schema": {"$defs": 5, "description": TEXT}},
            },
        ),
    ),
    ("/v1/chat/completions", chat(f"[[double:error=ValidationException]] {TEXT}")),
    ("/v1/chat/completions", chat(f"[[double:error=AccessDeniedException]] {TEXT}")),
    (
        "/v1/chat/completions",
        chat(f"[[double:midstream_error=modelStreamErrorException]] {TEXT}", stream=True),
    ),
    (
        "/v1/responses",
        {
            "model": "nova-pro",
            "input": f"[[double:midstream_error=modelStreamErrorException]] {TEXT}",
            "stream": True,
        },
    ),
    ("/v1/messages", claude(f"[[double:error=ValidationException]] {TEXT}")),
    ("/v1/messages", claude(f"[[double:midstream_error=modelStreamErrorException]] {TEXT}", stream=True)),
    ("/v1/messages", {**claude(TEXT), "model": "claude-unknown-9"}),
]


def test_the_canary_never_reaches_a_log(make_settings, capfd: pytest.CaptureFixture[str]) -> None:
    captured = Lines()
    root, ours = logging.getLogger(), logging.getLogger("pennyworth")  # ours may not propagate to the root
    previous = root.level, ours.level
    for logger in (root, ours):
        logger.addHandler(captured)
        logger.setLevel(logging.DEBUG)
    statuses: list[int] = []
    try:
        with serve_app(create_app(make_settings())) as url, httpx.Client(base_url=url, timeout=30) as client:
            for path, body in SENT:
                if isinstance(body, str):
                    response = client.post(
                        path, content=body.encode(), headers={**HEADERS, "Content-Type": "application/json"}
                    )
                else:
                    response = client.post(path, json=body, headers=HEADERS)
                statuses.append(response.status_code)
    finally:
        for logger, level in zip((root, ours), previous, strict=True):
            logger.removeHandler(captured)
            logger.setLevel(level)
    printed = capfd.readouterr()
    assert all(status < 500 for status in statuses), statuses
    assert len(captured.lines) > len(SENT)  # the request lines at least: the capture works
    assert [line for line in captured.lines if CANARY in line] == []
    assert CANARY not in printed.out and CANARY not in printed.err


def test_redaction_withholds_exception_text_and_bounds_arguments() -> None:
    try:
        try:
            raise ValueError(f"input_value={{'content': '{CANARY}'}}")
        except ValueError as inner:
            raise RuntimeError(CANARY) from inner
    except RuntimeError as exc:
        record = logging.LogRecord(
            "pennyworth.x",
            logging.ERROR,
            __file__,
            1,
            "failed: %s %s",
            (exc, "x" * 5000),
            (type(exc), exc, exc.__traceback__),
        )
    text = logging.Formatter().format(redact(record))
    assert CANARY not in text
    assert "RuntimeError <- ValueError" in text and "Traceback" in text and "(5000 characters)" in text
    network = OSError(111, "Connection refused")
    record = logging.LogRecord(
        "pennyworth.x", logging.ERROR, __file__, 1, "down", (), (OSError, network, None)
    )
    assert "Connection refused" in logging.Formatter().format(redact(record))
