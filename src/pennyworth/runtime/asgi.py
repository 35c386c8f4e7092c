"""The ASGI app object for servers that import one (`uvicorn pennyworth.runtime.asgi:app`, see `src/run.sh`)."""

from pennyworth.api.app import create_app
from pennyworth.observability import configure_logging
from pennyworth.settings import get_settings

configure_logging(get_settings().log_level)
app = create_app(get_settings())
