"""Remote image URLs, when the operator allows them: fetched over HTTP and inlined before translation."""

from __future__ import annotations

import asyncio
import base64

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pennyworth.errors import InvalidRequest
from pennyworth.llm.bedrock.remote_media import inline_remote_images
from tests.support.servers import serve_app

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


async def image(request: Request) -> Response:
    kind = request.path_params["kind"]
    return Response(PNG, media_type="image/png" if kind == "png" else "text/html")


def test_remote_images_are_inlined_and_bad_ones_refused() -> None:
    app = Starlette(routes=[Route("/{kind}", image)])
    with serve_app(app) as base:
        messages = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": f"{base}/png"}}]}]
        inlined = asyncio.run(inline_remote_images(messages))
        assert (
            inlined[0]["content"][0]["image_url"]["url"]
            == "data:image/png;base64," + base64.b64encode(PNG).decode()
        )
        assert (
            messages[0]["content"][0]["image_url"]["url"] == f"{base}/png"
        )  # the caller's copy is untouched
        bad = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": f"{base}/html"}}]}]
        with pytest.raises(InvalidRequest) as refused:
            asyncio.run(inline_remote_images(bad))
        assert refused.value.param == "messages.0.content.0"
