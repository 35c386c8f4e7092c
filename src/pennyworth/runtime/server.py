"""`pennyworth serve`: the gateway under uvicorn, as the Lambda Web Adapter runs it (see `src/run.sh`)."""

from __future__ import annotations

import uvicorn

from pennyworth.api.app import create_app
from pennyworth.observability import configure_logging
from pennyworth.settings import get_settings


def serve(host: str, port: int, *, access_log: bool) -> None:
    """Run the app with the environment's settings until interrupted."""
    settings = get_settings()
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        access_log=access_log,
    )
