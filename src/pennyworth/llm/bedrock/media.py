"""Inline media in OpenAI content parts → Converse image, document and video blocks.

Only `data:` URIs are read here (the API layer refuses remote URLs unless the operator allows them, and the
service inlines those before translation): the MIME type picks the block and its format, the base64 text is
passed on as the block's `bytes`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from pennyworth.errors import InvalidRequest

_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)(?:;[^,;]*)*?;base64,(?P<data>.*)$", re.DOTALL)

IMAGE_FORMATS = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "gif": "gif", "webp": "webp"}
DOCUMENT_FORMATS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
}
VIDEO_FORMATS = {
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/x-matroska": "mkv",
    "video/webm": "webm",
    "video/x-flv": "flv",
    "video/mpeg": "mpeg",
    "video/mpg": "mpg",
    "video/x-ms-wmv": "wmv",
    "video/3gpp": "three_gp",
}


def split_data_uri(uri: str, param: str) -> tuple[str, str]:
    """(MIME type, base64 text) of a `data:...;base64,...` URI; anything else is a 400."""
    match = _DATA_URI.match(uri)
    if match is None:
        raise InvalidRequest(
            "Media must be inline 'data:<mime type>;base64,...' URIs.", param=param, code="invalid_media"
        )
    return match.group("mime").lower(), "".join(match.group("data").split())


def image_block(url: str, param: str) -> dict[str, Any]:
    """An `image_url` part's data URI → a Converse image block (png, jpeg, gif, webp)."""
    mime, data = split_data_uri(url, param)
    kind, _, subtype = mime.partition("/")
    image_format = IMAGE_FORMATS.get(subtype) if kind == "image" else None
    if image_format is None:
        raise InvalidRequest(
            f"Unsupported image format '{subtype or mime}': send png, jpeg, gif or webp.", param=param
        )
    return {"image": {"format": image_format, "source": {"bytes": data}}}


def file_block(file: dict[str, Any], param: str) -> dict[str, Any]:
    """A `file` part (`file_data` as a data URI) → a document, video or image block by its MIME type."""
    file_data = file.get("file_data")
    if not isinstance(file_data, str):
        raise InvalidRequest(
            "File parts need 'file_data' as a data URI ('file_id' is not supported).", param=param
        )
    mime, data = split_data_uri(file_data, param)
    if mime.startswith("image/"):
        return image_block(file_data, param)
    if mime in VIDEO_FORMATS:
        return {"video": {"format": VIDEO_FORMATS[mime], "source": {"bytes": data}}}
    document_format = DOCUMENT_FORMATS.get(mime)
    if document_format is None:
        raise InvalidRequest(f"Unsupported file type '{mime}'.", param=param)
    name = document_name(file.get("filename"), data, document_format)
    return {"document": {"format": document_format, "name": name, "source": {"bytes": data}}}


_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9\-()\[\] ]+")


def document_name(filename: Any, data: str, document_format: str) -> str:
    """A name Bedrock accepts (letters, digits, spaces, hyphens, parentheses, brackets; no double spaces):
    the file's own name when it has one, else one derived from its content."""
    if isinstance(filename, str):
        stem = filename.rsplit(".", 1)[0]
        cleaned = " ".join(_NAME_UNSAFE.sub(" ", stem).split())[:200]
        if cleaned:
            return cleaned
    digest = hashlib.sha256(data[: 64 * 1024].encode()).hexdigest()[:16]
    return f"Document {digest} {document_format}"
