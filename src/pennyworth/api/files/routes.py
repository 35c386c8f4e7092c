"""OpenAI's Files API (`/v1/files`) and Uploads API (`/v1/uploads`), for inputs larger than a request body.

Small files go up whole (`POST /v1/files`, multipart, within the body limit); large ones in parts
(`POST /v1/uploads`, `.../parts`, `.../complete`, `.../cancel`), each part one request under the limit — what
the OpenAI SDK's `client.uploads.upload_file_chunked(..., part_size=5 * 1024 * 1024)` sends. A key sees only
its own files. Requests then name a file by id (`file_id`) instead of carrying its bytes.
"""

from __future__ import annotations

import mimetypes
from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from pennyworth.access.files import FileStore
from pennyworth.api.dependencies import Caller, ServicesDep
from pennyworth.api.files.multipart import FormField, read_form
from pennyworth.api.openai.routes import ERROR_RESPONSES
from pennyworth.errors import InvalidRequest, NotFound

router = APIRouter(prefix="/v1", tags=["OpenAI Files"])
_EXTRA_TYPES = {".md": "text/markdown", ".jsonl": "application/jsonl", ".mkv": "video/x-matroska"}


class UploadCreate(BaseModel):
    filename: str = Field(min_length=1, max_length=1024)
    purpose: str = Field(min_length=1, max_length=64)
    bytes: int = Field(gt=0)
    mime_type: str = Field(min_length=1, max_length=255)


class UploadComplete(BaseModel):
    part_ids: list[str] = Field(min_length=1)
    md5: str | None = None


def _json(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def _store(services: ServicesDep) -> FileStore:
    if services.files is None:
        raise NotFound("Files are not enabled on this gateway (no inputs bucket is configured).")
    return services.files


def _mime_type(field: FormField) -> str:
    """The part's declared type, or one guessed from its file name when the client sent a generic one."""
    declared = (field.content_type or "").split(";")[0].strip().lower()
    if declared and declared != "application/octet-stream":
        return declared
    name = (field.filename or "").lower()
    suffix = name[name.rfind(".") :] if "." in name else ""
    return _EXTRA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or declared or "application/octet-stream"


async def _form(request: Request) -> dict[str, FormField]:
    return read_form(request.headers.get("content-type"), await request.body())


@router.post("/files", responses=ERROR_RESPONSES)
async def create_file(request: Request, identity: Caller, services: ServicesDep) -> Response:
    """Upload a file (multipart: `file`, `purpose`)."""
    store = _store(services)
    form = await _form(request)
    if "file" not in form or form["file"].filename is None:
        raise InvalidRequest("'file' is required (a multipart file field).", param="file")
    if "purpose" not in form:
        raise InvalidRequest("'purpose' is required.", param="purpose")
    file = form["file"]
    purpose = form["purpose"].data.decode("utf-8", "replace")
    record = await store.create_file(
        identity.key_id, file.data, file.filename or "file", purpose, _mime_type(file)
    )
    return _json(record.as_openai())


@router.get("/files", responses=ERROR_RESPONSES)
async def list_files(identity: Caller, services: ServicesDep) -> Response:
    """This key's files."""
    files = await _store(services).list_files(identity.key_id)
    return _json({"object": "list", "data": [f.as_openai() for f in files], "has_more": False})


@router.get("/files/{file_id}", responses=ERROR_RESPONSES)
async def retrieve_file(file_id: str, identity: Caller, services: ServicesDep) -> Response:
    return _json((await _store(services).get_file(identity.key_id, file_id)).as_openai())


@router.get("/files/{file_id}/content", responses=ERROR_RESPONSES)
async def file_content(file_id: str, identity: Caller, services: ServicesDep) -> Response:
    record, data = await _store(services).read_file(identity.key_id, file_id)
    return Response(data, media_type=record.mime_type)


@router.delete("/files/{file_id}", responses=ERROR_RESPONSES)
async def delete_file(file_id: str, identity: Caller, services: ServicesDep) -> Response:
    await _store(services).delete_file(identity.key_id, file_id)
    return _json({"id": file_id, "object": "file", "deleted": True})


@router.post("/uploads", responses=ERROR_RESPONSES)
async def create_upload(body: UploadCreate, identity: Caller, services: ServicesDep) -> Response:
    """Start an upload of `bytes` bytes, sent in parts."""
    upload = await _store(services).create_upload(
        identity.key_id, body.filename, body.purpose, body.bytes, body.mime_type.lower()
    )
    return _json(upload.as_openai())


@router.post("/uploads/{upload_id}/parts", responses=ERROR_RESPONSES)
async def add_upload_part(
    upload_id: str, request: Request, identity: Caller, services: ServicesDep
) -> Response:
    """One part (multipart: `data`); every part but the last at least 5 MiB."""
    store = _store(services)
    form = await _form(request)
    if "data" not in form:
        raise InvalidRequest("'data' is required (a multipart file field).", param="data")
    return _json(await store.add_part(identity.key_id, upload_id, form["data"].data))


@router.post("/uploads/{upload_id}/complete", responses=ERROR_RESPONSES)
async def complete_upload(
    upload_id: str, body: UploadComplete, identity: Caller, services: ServicesDep
) -> Response:
    """Join the parts, in the order given, into the upload's file."""
    upload, file = await _store(services).complete_upload(identity.key_id, upload_id, body.part_ids)
    return _json(upload.as_openai(file))


@router.post("/uploads/{upload_id}/cancel", responses=ERROR_RESPONSES)
async def cancel_upload(upload_id: str, identity: Caller, services: ServicesDep) -> Response:
    return _json((await _store(services).cancel_upload(identity.key_id, upload_id)).as_openai())
