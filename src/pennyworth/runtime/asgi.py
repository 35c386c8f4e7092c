"""The ASGI app object for servers that import one (`uvicorn pennyworth.runtime.asgi:app`)."""

from pennyworth.api.app import create_app

app = create_app()
