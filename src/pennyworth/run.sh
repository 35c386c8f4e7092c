#!/bin/sh
# Streaming Lambda entry point: the Lambda Web Adapter layer proxies to this uvicorn server.
exec python -m uvicorn pennyworth.api.asgi:app --host 127.0.0.1 --port "${PORT:-8080}" --no-access-log
