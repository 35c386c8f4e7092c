"""Run the console: bind 127.0.0.1 (never another interface), print the URL with its token, open a browser."""

from __future__ import annotations

import socket
import webbrowser

import uvicorn

from pennyworth.access.keys import KeyStore
from pennyworth.access.limits import Spend
from pennyworth.access.table import table
from pennyworth.access.usage import UsageLedger
from pennyworth.cli.console.app import Console, create_console_app
from pennyworth.cli.console.security import Gate
from pennyworth.settings import Settings

LOOPBACK = "127.0.0.1"


def build_console(settings: Settings, port: int) -> Console:
    keys_table = table(settings)
    return Console(
        store=KeyStore(keys_table),
        spend=Spend(keys_table),
        ledger=UsageLedger(keys_table),
        gate=Gate(port=port),
        table_name=settings.table_name,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def run_console(settings: Settings, port: int, *, open_browser: bool) -> None:
    """Serve until interrupted. The URL (with the run's token) is printed, never logged."""
    port = port or free_port()
    console = build_console(settings, port)
    url = console.gate.url()
    print(f"pennyworth console for table {settings.table_name}: {url}", flush=True)
    print("(the token in the URL is this run's only credential; stop with Ctrl-C)", flush=True)
    if open_browser:
        webbrowser.open(url)
    # No access log: the first request's URL carries the token.
    uvicorn.run(create_console_app(console), host=LOOPBACK, port=port, access_log=False, log_level="warning")
