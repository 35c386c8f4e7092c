"""Lambda SnapStart: what must not be shared between instances restored from one snapshot.

On restore, the HTTP sessions opened before the snapshot point at dead sockets, the cached AWS credentials may
be stale, and every restored instance would otherwise share the same random state. Two ways in:

- Under the Lambda Web Adapter (streaming), uvicorn is the adapter's child process, so the Python runtime's
  restore hooks never run in it. The adapter (1.1.0+) instead POSTs to `AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH`
  after a restore, before any traffic: `AFTER_RESTORE_PATH` below. Only the adapter may call it: the adapter
  answers 403 to outside requests for hook paths itself, and this route also answers as an unknown URL (404)
  to any request that came through API Gateway (the adapter sets `x-amzn-request-context` on those and
  overrides a client's) or from anywhere but loopback.
- Under the Python runtime (buffered, Mangum), `snapshot_restore_py`'s hook; elsewhere registration is a no-op.
"""

from __future__ import annotations

import ipaddress
import os
import random
from typing import Any

from fastapi import APIRouter, Request
from starlette.exceptions import HTTPException
from starlette.responses import Response

AFTER_RESTORE_PATH = "/_pennyworth/snapstart/after-restore"
router = APIRouter(include_in_schema=False)


def reset_after_restore(services: Any) -> None:
    """Forget connections and credentials, and reseed randomness (the `secrets` module needs no reseeding)."""
    services.metering.forget_connections()
    random.seed(os.urandom(32))


def register_restore_hooks(services: Any) -> bool:
    """Register the reset with the Lambda runtime; False when not running under SnapStart's runtime."""
    try:
        from snapshot_restore_py import register_after_restore  # type: ignore[import-not-found]
    except ImportError:
        return False
    register_after_restore(reset_after_restore, services)
    return True


def called_by_the_adapter(request: Request) -> bool:
    """A request from this machine's loopback that did not come in through API Gateway."""
    if "x-amzn-request-context" in request.headers:
        return False
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@router.post(AFTER_RESTORE_PATH)
async def after_restore(request: Request) -> Response:
    """The adapter's after-restore hook: reset, then 204 (any non-2xx would fail the restore)."""
    if not called_by_the_adapter(request):
        raise HTTPException(status_code=404)
    reset_after_restore(request.app.state.services)
    return Response(status_code=204)
