"""Buffered Lambda entry point: Mangum over the same FastAPI app (sam local, events/, buffered deployments).

The streaming deployment runs the app under uvicorn through the Lambda Web Adapter instead (`run.sh`).
"""

from mangum import Mangum

from pennyworth.api.app import create_app
from pennyworth.observability import configure_logging
from pennyworth.settings import get_settings

configure_logging(get_settings().log_level)
handler = Mangum(create_app(get_settings()), lifespan="off")
