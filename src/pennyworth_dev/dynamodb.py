"""A DynamoDB-compatible server on loopback (moto's backend over werkzeug), for tests and `make serve`.

DynamoDB applies each write to an item atomically, conditions included; moto's server runs requests in
parallel threads without that guarantee. This server keeps the threads (slow clients do not block others)
but runs moto's handling of one request at a time, so conditional updates behave as they do on AWS.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Serialized:
    """WSGI middleware: one request inside the wrapped app at a time."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self._lock:
            return list(self._app(environ, start_response))


class LocalDynamoDB:
    """`with LocalDynamoDB() as url:` — the server on 127.0.0.1 for the block's duration."""

    def __init__(self, port: int | None = None) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request on the console
        self.port = port or _free_port()
        app = _Serialized(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            "127.0.0.1", self.port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-dynamodb", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
