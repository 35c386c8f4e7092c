"""File references and inline media in requests → media the model can take, before any translation.

What a request may name: OpenAI chat `file` parts (`file_id` of this key's upload, or inline `file_data`),
`image_url` parts whose URL is a file id, `video_url` parts (inline `data:video/...` or a file id), and
Anthropic `image` / `document` blocks with a `file` source. A file id is looked up under the calling key only
(another key's file is a 404), so the gateway reads nothing but its own bucket — never a URL or another
bucket (no SSRF). Models that read S3 (catalog capability `s3_media`) get the file's S3 location; others get
its bytes inline. The catalog's `documents`, `video` and `vision` capabilities say which model takes what.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from pennyworth.access.files import FileStore
from pennyworth.catalog import ModelRoute
from pennyworth.errors import InvalidRequest
from pennyworth.llm.media import INLINE_LIMITS, Media, MediaKind, document_name, kind_and_format

_DATA_URL = re.compile(r"^data:([\w.+-]+/[\w.+-]+)(?:;[\w=.-]+)*;base64,(.*)$", re.DOTALL)
_CAPABILITY: dict[MediaKind, str] = {"image": "vision", "document": "documents", "video": "video"}
_ANTHROPIC_TEXT_TYPES = {"text/plain", "text/markdown", "text/csv", "text/html"}


def _is_file_id(value: str) -> bool:
    return value.startswith("file-")


def _decode(data_url: str, param: str) -> tuple[str, bytes]:
    match = _DATA_URL.match(data_url)
    if not match:
        raise InvalidRequest("Inline data must be a 'data:<mime type>;base64,...' URI.", param=param)
    try:
        return match.group(1).lower(), base64.b64decode(match.group(2), validate=True)
    except binascii.Error:
        raise InvalidRequest("The inline data is not valid base64.", param=param) from None


class _ChatResolver:
    def __init__(self, files: FileStore | None, key_id: str, route: ModelRoute) -> None:
        self.files = files
        self.key_id = key_id
        self.route = route
        self.documents = 0

    def _media(self, mime_type: str, filename: str, param: str) -> tuple[MediaKind, str, str]:
        found = kind_and_format(mime_type)
        if found is None:
            raise InvalidRequest(f"Files of type '{mime_type}' cannot be given to a model.", param=param)
        kind, fmt = found
        capability = _CAPABILITY[kind]
        if self.route.capabilities and capability not in self.route.capabilities:
            raise InvalidRequest(f"The model '{self.route.name}' does not take {kind}s.", param=param)
        name = document_name(filename, self.documents) if kind == "document" else ""
        self.documents += kind == "document"
        return kind, fmt, name

    async def from_file(self, file_id: str, param: str) -> Media:
        if self.files is None:
            raise InvalidRequest("Files are not enabled on this gateway.", param=param)
        record = await self.files.get_file(self.key_id, file_id)
        kind, fmt, name = self._media(record.mime_type, record.filename, param)
        if "s3_media" in self.route.capabilities:
            return Media(
                kind, fmt, name, s3_uri=self.files.s3_uri(self.key_id, file_id), mime_type=record.mime_type
            )
        if self.route.wire != "pegasus" and record.bytes > INLINE_LIMITS[kind]:
            raise InvalidRequest(
                f"The {kind} '{record.filename}' has {record.bytes} bytes; '{self.route.name}' takes {kind}s "
                f"inline only, up to {INLINE_LIMITS[kind]} bytes. A model that reads S3 (Nova) takes larger ones.",
                param=param,
            )
        _, data = await self.files.read_file(self.key_id, file_id)
        return Media(kind, fmt, name, data=data, mime_type=record.mime_type)

    def from_data(self, data_url: str, filename: str, param: str) -> Media:
        mime_type, data = _decode(data_url, param)
        kind, fmt, name = self._media(mime_type, filename, param)
        return Media(kind, fmt, name, data=data, mime_type=mime_type)

    async def part(self, part: dict[str, Any], param: str) -> dict[str, Any]:
        kind = part.get("type")
        if kind == "file":
            ref = part.get("file") or {}
            if ref.get("file_id"):
                media = await self.from_file(ref["file_id"], f"{param}.file.file_id")
            else:
                media = self.from_data(
                    ref.get("file_data") or "", ref.get("filename") or "", f"{param}.file.file_data"
                )
            return {"type": "media", "media": media}
        if kind in ("image_url", "video_url"):
            url = (part.get(kind) or {}).get("url", "")
            if _is_file_id(url):
                return {"type": "media", "media": await self.from_file(url, f"{param}.{kind}.url")}
            if kind == "video_url":
                if not url.startswith("data:"):
                    raise InvalidRequest(
                        "Video is taken inline ('data:video/<format>;base64,...') or as an uploaded file's id "
                        "(upload it with the Files or Uploads API); URLs are not fetched.",
                        param=f"{param}.video_url.url",
                    )
                return {"type": "media", "media": self.from_data(url, "", f"{param}.video_url.url")}
        return part


async def resolve_chat_media(
    files: FileStore | None, key_id: str, route: ModelRoute, messages: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The chat messages with every file, file-id image and video part turned into a media part."""
    resolver = _ChatResolver(files, key_id, route)
    out: list[dict[str, Any]] = []
    for m_index, message in enumerate(messages):
        content = message.get("content")
        if message.get("role") != "user" or not isinstance(content, list):
            out.append(message)
            continue
        parts = [await resolver.part(p, f"messages.{m_index}.content.{i}") for i, p in enumerate(content)]
        out.append({**message, "content": parts})
    if route.wire == "pegasus" and not any(
        p.get("type") == "media" for m in out if isinstance(m.get("content"), list) for p in m["content"]
    ):
        raise InvalidRequest(f"The model '{route.name}' needs a video part.", param="messages")
    return out


async def resolve_anthropic_files(files: FileStore | None, key_id: str, body: dict[str, Any]) -> None:
    """Anthropic `image` / `document` blocks with a `file` source → inline base64 (or text) sources."""
    for m_index, message in enumerate(body.get("messages", [])):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for b_index, block in enumerate(content):
            source = block.get("source") if isinstance(block, dict) else None
            if isinstance(source, dict) and source.get("type") == "file":
                param = f"messages.{m_index}.content.{b_index}.source.file_id"
                block["source"] = await _anthropic_source(
                    files, key_id, str(source.get("file_id", "")), block, param
                )


async def _anthropic_source(
    files: FileStore | None, key_id: str, file_id: str, block: dict[str, Any], param: str
) -> dict[str, Any]:
    if files is None:
        raise InvalidRequest("Files are not enabled on this gateway.", param=param)
    record, data = await files.read_file(key_id, file_id)
    mime_type = record.mime_type.split(";")[0].lower()
    if block.get("type") == "image" and mime_type.startswith("image/"):
        return {"type": "base64", "media_type": mime_type, "data": base64.b64encode(data).decode()}
    if block.get("type") == "document" and mime_type == "application/pdf":
        return {"type": "base64", "media_type": mime_type, "data": base64.b64encode(data).decode()}
    if block.get("type") == "document" and mime_type in _ANTHROPIC_TEXT_TYPES:
        return {"type": "text", "media_type": "text/plain", "data": data.decode("utf-8", "replace")}
    raise InvalidRequest(
        f"A '{block.get('type')}' block cannot carry a file of type '{mime_type}'.", param=param
    )
