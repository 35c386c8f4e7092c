"""A DynamoDB-compatible server on loopback: moto's threaded server, for tests and `make serve`."""

from __future__ import annotations

import socket

from moto.server import ThreadedMotoServer


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalDynamoDB:
    """`with LocalDynamoDB() as url:` — moto's server on 127.0.0.1 for the block's duration."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        self._server.start()
        return self.url

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
