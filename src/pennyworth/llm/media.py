"""Media in chat calls — images, documents and video — as Bedrock's Converse content blocks.

The API layers resolve what a request names (an uploaded file's id, inline `data:` bytes) into `Media`
parts (`{"type": "media", "media": Media}`) before the call reaches the LLM layer. Request translation knows
text and images only, so `translate_with_media` stands each media part in as a placeholder text part,
translates, and puts our own Converse block (`document` with a name Bedrock accepts, `video`, `image`; bytes
inline, or an `s3Location` for models that read S3) where the placeholder landed. Whoever translates the
rest of the request, media blocks are built here, once.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

MediaKind = Literal["image", "document", "video"]
# MIME type → (kind, Converse format): what Converse takes (documents: pdf csv doc docx xls xlsx html txt md;
# images: png jpeg gif webp; video: mkv mov mp4 webm flv mpeg mpg wmv three_gp).
FORMATS: dict[str, tuple[MediaKind, str]] = {
    "image/png": ("image", "png"),
    "image/jpeg": ("image", "jpeg"),
    "image/jpg": ("image", "jpeg"),
    "image/gif": ("image", "gif"),
    "image/webp": ("image", "webp"),
    "application/pdf": ("document", "pdf"),
    "text/csv": ("document", "csv"),
    "application/msword": ("document", "doc"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("document", "docx"),
    "application/vnd.ms-excel": ("document", "xls"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("document", "xlsx"),
    "text/html": ("document", "html"),
    "text/plain": ("document", "txt"),
    "text/markdown": ("document", "md"),
    "video/x-matroska": ("video", "mkv"),
    "video/quicktime": ("video", "mov"),
    "video/mp4": ("video", "mp4"),
    "video/webm": ("video", "webm"),
    "video/x-flv": ("video", "flv"),
    "video/mpeg": ("video", "mpeg"),
    "video/x-ms-wmv": ("video", "wmv"),
    "video/3gpp": ("video", "three_gp"),
}
# Bedrock's caps for media sent inline (bytes) in Converse; larger files need a model that reads S3.
INLINE_LIMITS: dict[MediaKind, int] = {"image": 3_750_000, "document": 4_500_000, "video": 25_000_000}
_PLACEHOLDER = "\x00pennyworth-media-{}\x00"
_PLACEHOLDER_TEXT = re.compile(r"^\x00pennyworth-media-(\d+)\x00$")
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9\s\-()\[\]]")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Media:
    """One image, document or video for the model: `data` inline, or `s3_uri` in the gateway's own bucket."""

    kind: MediaKind
    format: str
    name: str
    data: bytes | None = None
    s3_uri: str | None = None
    mime_type: str = ""


def kind_and_format(mime_type: str) -> tuple[MediaKind, str] | None:
    return FORMATS.get(mime_type.split(";")[0].strip().lower())


def document_name(filename: str, index: int) -> str:
    """A name Bedrock accepts: letters, digits, single spaces, hyphens, parentheses, square brackets."""
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    cleaned = _SPACES.sub(" ", _NAME_UNSAFE.sub(" ", stem)).strip()[:200]
    return cleaned or f"document {index + 1}"


def converse_block(media: Media) -> dict[str, Any]:
    source: dict[str, Any] = (
        {"s3Location": {"uri": media.s3_uri}}
        if media.s3_uri
        else {"bytes": base64.b64encode(media.data or b"").decode()}
    )
    block: dict[str, Any] = {"format": media.format, "source": source}
    if media.kind == "document":
        block["name"] = media.name
    return {media.kind: block}


def media_in(messages: list[dict[str, Any]]) -> list[Media]:
    return [
        part["media"]
        for message in messages
        if isinstance(message.get("content"), list)
        for part in message["content"]
        if part.get("type") == "media"
    ]


def _with_placeholders(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Media]]:
    found: list[Media] = []
    out: list[dict[str, Any]] = []
    for message in messages:
        content = message.get("content")
        if not isinstance(content, list) or not any(p.get("type") == "media" for p in content):
            out.append(message)
            continue
        parts = []
        for part in content:
            if part.get("type") == "media":
                parts.append({"type": "text", "text": _PLACEHOLDER.format(len(found))})
                found.append(part["media"])
            else:
                parts.append(part)
        out.append({**message, "content": parts})
    return out, found


def _swap_placeholders(body: dict[str, Any], found: list[Media]) -> None:
    for message in body.get("messages", []):
        blocks = message.get("content", [])
        for index, block in enumerate(blocks):
            match = _PLACEHOLDER_TEXT.match(block.get("text", "")) if isinstance(block, dict) else None
            if match:
                blocks[index] = converse_block(found[int(match.group(1))])


T = TypeVar("T")


def translate_with_media(
    messages: list[dict[str, Any]],
    translate: Callable[[list[dict[str, Any]]], T],
    body_of: Callable[[T], dict[str, Any]],
) -> T:
    """`translate(messages)` with each media part carried through as its Converse block."""
    if not media_in(messages):
        return translate(messages)
    stand_ins, found = _with_placeholders(messages)
    request = translate(stand_ins)
    _swap_placeholders(body_of(request), found)
    return request
