"""Responses `reasoning` items: the `encrypted_content` that lets a stateless gateway replay Claude's reasoning.

Claude on Bedrock, thinking with tools, needs its signed reasoning block back on the next turn. OpenAI's
answer for stateless clients (`store: false`) is a reasoning item whose `encrypted_content` the client returns
verbatim; Codex does exactly that. Here that content is an envelope around the turn's reasoning blocks in
LiteLLM's `thinking_blocks` convention (thinking text + signature, or a redacted block's data):

    pw1.<base64url(zlib(JSON blocks))>.<base64url(HMAC-SHA256 tag, 16 bytes)>

It is opaque to clients and nothing is stored server-side. Trust does not rest on our tag: Bedrock verifies
every replayed block's signature against its text (redacted data is the model provider's own ciphertext), so
an altered block is refused by Bedrock whatever the envelope says. The tag catches corruption and foreign
content early, with a clear 400 naming the item instead of a model error. The envelope is not encrypted: it
holds only what the client was already shown (the reasoning text is the item's summary) or cannot read
(redacted data). Another provider's `encrypted_content` (a session that switched providers) is not ours to
replay: it is skipped, and the thinking rule (`llm.thinking`) decides that turn.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import zlib
from typing import Any

import orjson

from pennyworth.errors import InvalidRequest
from pennyworth.observability import get_logger

logger = get_logger("api")
_VERSION = "pw1"
_TAG_KEY = b"pennyworth/responses/reasoning/v1"
_TAG_BYTES = 16
_MAX_BYTES = 4 * 1024 * 1024  # far above any real reasoning block; bounds decompression


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _tag(payload: bytes) -> bytes:
    return hmac.new(_TAG_KEY, payload, hashlib.sha256).digest()[:_TAG_BYTES]


def seal(blocks: list[dict[str, str]]) -> str:
    """The `encrypted_content` for a turn's reasoning blocks."""
    payload = zlib.compress(orjson.dumps(blocks))
    return f"{_VERSION}.{_b64(payload)}.{_b64(_tag(payload))}"


def unseal(content: str, param: str) -> list[dict[str, str]]:
    """The reasoning blocks in an `encrypted_content` this gateway issued; a 400 naming `param` otherwise."""
    refused = InvalidRequest(
        "This reasoning item's encrypted_content was not issued by this gateway or was altered. Send output "
        "items back exactly as they were received.",
        param=param,
    )
    try:
        version, body, tag = content.split(".")
        payload, given = _unb64(body), _unb64(tag)
    except (ValueError, binascii.Error):
        raise refused from None
    if version != _VERSION or not hmac.compare_digest(given, _tag(payload)):
        raise refused
    try:
        inflater = zlib.decompressobj()
        blocks = orjson.loads(inflater.decompress(payload, _MAX_BYTES))
    except (zlib.error, orjson.JSONDecodeError):
        raise refused from None
    if not _well_formed(blocks):
        raise refused
    return list(blocks)


def _well_formed(blocks: Any) -> bool:
    if not isinstance(blocks, list):
        return False
    for block in blocks:
        if not isinstance(block, dict) or not all(isinstance(v, str) for v in block.values()):
            return False
        kind = block.get("type")
        if not (kind == "thinking" and "signature" in block) and not (
            kind == "redacted_thinking" and "data" in block
        ):
            return False
    return True


def replayed_blocks(item: dict[str, Any], index: int) -> list[dict[str, str]]:
    """The blocks an input `reasoning` item carries back (none without `encrypted_content`)."""
    content = item.get("encrypted_content")
    if content is None:
        return []
    if not isinstance(content, str):
        raise InvalidRequest("encrypted_content must be a string.", param=f"input.{index}.encrypted_content")
    if not content.startswith(_VERSION + "."):
        # another provider's reasoning (a session that switched providers): nothing Bedrock can replay
        logger.info("reasoning item %d carries foreign encrypted_content: not replayed", index)
        return []
    return unseal(content, f"input.{index}.encrypted_content")
