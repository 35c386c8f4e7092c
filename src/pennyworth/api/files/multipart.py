"""A small `multipart/form-data` reader for the Files and Uploads routes.

Bodies are already bounded by the gateway's body limit (a few MB) and read whole, so a split on the boundary
is all it takes; it saves shipping a multipart package in the layer. Malformed bodies are a 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pennyworth.errors import InvalidRequest

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_PARAM = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class FormField:
    name: str
    data: bytes
    filename: str | None
    content_type: str | None


def read_form(content_type: str | None, body: bytes) -> dict[str, FormField]:
    """The form's fields by name (the last one wins), or a 400 naming what is wrong."""
    match = _BOUNDARY.search(content_type or "")
    if not (content_type or "").lower().startswith("multipart/form-data") or not match:
        raise InvalidRequest("Send the file as multipart/form-data.")
    delimiter = b"--" + match.group(1).encode("latin-1")
    fields: dict[str, FormField] = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, separator, data = chunk.partition(b"\r\n\r\n")
        if not separator:
            raise InvalidRequest("The multipart body is malformed.")
        field = _field(head.decode("utf-8", "replace"), data.removesuffix(b"\r\n"))
        fields[field.name] = field
    return fields


def _field(head: str, data: bytes) -> FormField:
    headers: dict[str, str] = {}
    for line in head.strip().split("\r\n"):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    params = dict(_PARAM.findall(headers.get("content-disposition", "")))
    if "name" not in params:
        raise InvalidRequest("A multipart field has no name.")
    return FormField(params["name"], data, params.get("filename"), headers.get("content-type"))
