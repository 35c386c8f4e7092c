"""The console against the session's local DynamoDB table (the one the gateway tests write their ledger to)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pennyworth.cli.console.app import Console, create_console_app
from pennyworth.cli.console.server import build_console, free_port
from pennyworth.settings import Settings
from tests.support.servers import serve_app


@pytest.fixture
def console(dynamodb: str, table_name: str) -> Console:
    settings = Settings(AWS_ENDPOINT_URL_DYNAMODB=dynamodb, table_name=table_name)
    return build_console(settings, free_port())


@pytest.fixture
def console_url(console: Console) -> Iterator[str]:
    """The console under uvicorn on its gate's port; yields the URL with the run's token."""
    with serve_app(create_console_app(console), port=console.gate.port):
        yield console.gate.url()
