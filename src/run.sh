#!/bin/sh
# Streaming Lambda entry point: the Lambda Web Adapter (AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap) runs this and
# proxies each invocation to the uvicorn server it starts, streaming responses back (AWS_LWA_INVOKE_MODE).
exec python -m uvicorn pennyworth.runtime.asgi:app --host 127.0.0.1 --port "${PORT:-8080}" --no-access-log
