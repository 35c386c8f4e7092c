"""`GET /health`: liveness for load balancers and the Lambda Web Adapter's readiness check.

No authentication, no upstream call, no I/O: it answers as soon as the app can serve.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.responses import Response

router = APIRouter(tags=["Health"])
_BODY = b'{"status":"ok"}'


class Health(BaseModel):
    status: str


@router.get("/health", response_model=Health)
async def health() -> Response:
    """Always `{"status": "ok"}` while the process can serve requests."""
    return Response(_BODY, media_type="application/json")
