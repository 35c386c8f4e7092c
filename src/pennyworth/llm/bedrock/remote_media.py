"""Remote image URLs → inline `data:` URIs, before translation (only when the operator allows remote images).

The API layer refuses `http(s)` image URLs unless `PENNYWORTH_ALLOW_REMOTE_IMAGES=true`; when allowed, the
service fetches each one here (bounded in size and time) so the translation itself stays pure.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import aiohttp

from pennyworth.errors import InvalidRequest

MAX_IMAGE_BYTES = 3_750_000  # Bedrock's per-image limit
_TIMEOUT = aiohttp.ClientTimeout(total=10)
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def remote_image_parts(messages: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """(message index, part index) of every image part whose URL is http(s)."""
    found: list[tuple[int, int]] = []
    for m_index, message in enumerate(messages):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for p_index, part in enumerate(content):
            url = (part.get("image_url") or {}).get("url", "") if part.get("type") == "image_url" else ""
            if isinstance(url, str) and url.startswith(("http://", "https://")):
                found.append((m_index, p_index))
    return found


async def inline_remote_images(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages with every remote image fetched and inlined (a copy; the input is left as it was)."""
    places = remote_image_parts(messages)
    if not places:
        return messages
    inlined = copy.deepcopy(messages)
    async with aiohttp.ClientSession(timeout=_TIMEOUT) as session:
        for m_index, p_index in places:
            image = inlined[m_index]["content"][p_index]["image_url"]
            image["url"] = await _fetched(session, image["url"], f"messages.{m_index}.content.{p_index}")
    return inlined


async def _fetched(session: aiohttp.ClientSession, url: str, param: str) -> str:
    try:
        async with session.get(url) as response:
            mime = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            data = await response.content.read(MAX_IMAGE_BYTES + 1)
            ok = response.status == 200
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise InvalidRequest(f"Could not fetch the image at {url!r}.", param=param) from exc
    if not ok or mime not in _IMAGE_TYPES or len(data) > MAX_IMAGE_BYTES:
        raise InvalidRequest(
            f"The image at {url!r} is not a png, jpeg, gif or webp of at most {MAX_IMAGE_BYTES} bytes.",
            param=param,
        )
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"
