"""A DynamoDB-compatible server on loopback (moto's backend over werkzeug), for tests and `make serve`.

DynamoDB applies each write to an item atomically, conditions included; moto's server runs requests in
parallel threads without that guarantee. This server keeps the threads (slow clients do not block others)
but runs moto's handling of one request at a time, so conditional updates behave as they do on AWS.

Two things DynamoDB does that moto does not are added here: a `TransactWriteItems` repeated with the same
`ClientRequestToken` within ten minutes succeeds without being applied again (a different request under the
same token is refused with `IdempotentParameterMismatchException`), and faults can be switched on for tests:
refusing connections (`refuse_connections` / `accept_connections`), accepting them but not answering
(`faults.stall`), and applying a write but losing its answer (`faults.lose_answers`, a 500 after the write).
"""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

_TOKEN_SECONDS = 600  # how long DynamoDB remembers a ClientRequestToken
_JSON = "application/x-amz-json-1.0"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Faults:
    """Switches a test flips: `stall` holds every request until cleared; `lose_answers` answers the next N
    writes (after applying them) with a 500, as DynamoDB may when a response is lost."""

    stall: threading.Event = field(default_factory=threading.Event)
    lose_answers: int = 0
    released: threading.Event = field(default_factory=threading.Event)

    def stall_requests(self) -> None:
        self.released.clear()
        self.stall.set()

    def answer_requests(self) -> None:
        self.stall.clear()
        self.released.set()


def _error(start_response: Any, status: str, error_type: str, message: str) -> list[bytes]:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{error_type}", "message": message})
    start_response(status, [("Content-Type", _JSON), ("Content-Length", str(len(body)))])
    return [body.encode()]


class _Serialized:
    """WSGI middleware: one request inside the wrapped app at a time, idempotency tokens, and faults."""

    def __init__(self, app: Any, faults: Faults) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._faults = faults
        self._tokens: dict[str, tuple[float, str, tuple[str, list[tuple[str, str]], list[bytes]]]] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if self._faults.stall.is_set():
            self._faults.released.wait(timeout=60)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = _Replay(body)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        with self._lock:
            token = _client_token(target, body)
            if token is not None:
                remembered = self._remembered(token, body, start_response)
                if remembered is not None:
                    return remembered
            captured: dict[str, Any] = {}

            def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
                captured["status"], captured["headers"] = status, headers

            answer = list(self._app(environ, capture))
            status, headers = captured["status"], captured["headers"]
            if token is not None and status.startswith("200"):
                digest = hashlib.sha256(body).hexdigest()
                self._tokens[token] = (time.monotonic(), digest, (status, headers, answer))
            writes = ("UpdateItem", "PutItem", "TransactWriteItems", "DeleteItem")
            if self._faults.lose_answers > 0 and target.endswith(writes):
                self._faults.lose_answers -= 1
                return _lost(start_response)
            start_response(status, headers)
            return answer

    def _remembered(self, token: str, body: bytes, start_response: Any) -> list[bytes] | None:
        now = time.monotonic()
        for stale in [t for t, (at, _, _) in self._tokens.items() if now - at > _TOKEN_SECONDS]:
            del self._tokens[stale]
        if token not in self._tokens:
            return None
        _, digest, (status, headers, answer) = self._tokens[token]
        if digest != hashlib.sha256(body).hexdigest():
            return _error(
                start_response,
                "400 Bad Request",
                "IdempotentParameterMismatchException",
                "One or more parameter values were invalid: a different request used this ClientRequestToken.",
            )
        start_response(status, headers)
        return answer


def _lost(start_response: Any) -> list[bytes]:
    return _error(start_response, "500 Internal Server Error", "InternalServerError", "Internal server error")


def _client_token(target: str, body: bytes) -> str | None:
    if not target.endswith("TransactWriteItems"):
        return None
    try:
        token = json.loads(body).get("ClientRequestToken")
    except ValueError:
        return None
    return str(token) if token else None


class _Replay:
    """The request body, readable again by the wrapped app."""

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._body) if size is None or size < 0 else self._offset + size
        chunk = self._body[self._offset : end]
        self._offset += len(chunk)
        return chunk

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


class LocalDynamoDB:
    """`with LocalDynamoDB() as url:` — the server on 127.0.0.1 for the block's duration."""

    def __init__(self, port: int | None = None) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request on the console
        self.port = port or _free_port()
        self.faults = Faults()
        self._app = _Serialized(DomainDispatcherApplication(create_backend_app), self.faults)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        self._server = make_server(
            "127.0.0.1", self.port, self._app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-dynamodb", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self.faults.answer_requests()
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
        self._server = None

    def refuse_connections(self) -> None:
        """Close the listening socket (connections are refused) while keeping the tables."""
        self.stop()

    def accept_connections(self) -> None:
        self.start()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
