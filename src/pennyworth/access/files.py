"""Files a key uploaded, in the inputs bucket: OpenAI's Files and Uploads semantics over S3.

A file is one object, `files/<key id>/<file id>`, whose metadata holds its name, purpose and creation time;
an upload in progress is an S3 multipart upload to that same key plus a small state object
`uploads/<key id>/<upload id>.json`. The key id in every object key is the ownership rule: another key looks
under another prefix and finds nothing (404). Each Uploads API part becomes one S3 part as it arrives —
numbered in arrival order, so S3's 5 MiB minimum holds for every part but the last (checked against the
declared size, with a clear 400) and nothing is buffered or copied. Uploads never touch the usage ledger.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from pennyworth.aws.s3 import Bucket, ObjectMissing, StoredPart
from pennyworth.errors import InvalidRequest, NotFound, PayloadTooLarge
from pennyworth.settings import Settings

S3_MIN_PART_BYTES = 5 * 1024 * 1024  # S3's minimum for every part of a multipart upload but the last
S3_MAX_PARTS = 10_000


def _new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(12)}"


@dataclass(frozen=True)
class FileRecord:
    id: str
    bytes: int
    created_at: int
    filename: str
    purpose: str
    mime_type: str
    expires_at: int | None = None  # when the bucket's lifecycle rule deletes it (at the earliest)

    def as_openai(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
        }


@dataclass
class UploadRecord:
    id: str
    file_id: str
    s3_upload_id: str
    filename: str
    purpose: str
    bytes: int
    mime_type: str
    created_at: int
    status: str = "pending"

    def as_openai(self, file: FileRecord | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "upload",
            "bytes": self.bytes,
            "created_at": self.created_at,
            "expires_at": self.created_at + 86400,  # incomplete uploads are aborted after a day
            "filename": self.filename,
            "purpose": self.purpose,
            "status": self.status,
            "file": file.as_openai() if file else None,
        }


def _part_id(number: int) -> str:
    return f"part_{number:05d}{secrets.token_hex(6)}"


def _part_number(part_id: str) -> int | None:
    digits = part_id[5:10]
    return int(digits) if part_id.startswith("part_") and digits.isdigit() else None


class FileStore:
    def __init__(self, bucket: Bucket, settings: Settings) -> None:
        self._bucket = bucket
        self._max_bytes = settings.max_file_bytes
        self._types = frozenset(settings.file_types)
        self._keep_seconds = settings.inputs_expiration_days * 86400

    # --- checks ---------------------------------------------------------------------------------------------
    def _check(self, size: int, mime_type: str, param: str) -> None:
        if size > self._max_bytes:
            raise PayloadTooLarge(f"Files are limited to {self._max_bytes} bytes; this one has {size}.")
        if mime_type.split(";")[0].strip().lower() not in self._types:
            raise InvalidRequest(f"Files of type '{mime_type}' are not accepted.", param=param)

    @staticmethod
    def _file_key(key_id: str, file_id: str) -> str:
        return f"files/{key_id}/{file_id}"

    @staticmethod
    def _upload_key(key_id: str, upload_id: str) -> str:
        return f"uploads/{key_id}/{upload_id}.json"

    def s3_uri(self, key_id: str, file_id: str) -> str:
        """Where a model that reads S3 finds the file (only ever in this bucket)."""
        return f"s3://{self._bucket.name}/{self._file_key(key_id, file_id)}"

    # --- files ----------------------------------------------------------------------------------------------
    async def create_file(
        self, key_id: str, data: bytes, filename: str, purpose: str, mime_type: str
    ) -> FileRecord:
        self._check(len(data), mime_type, "file")
        created = int(time.time())
        record = FileRecord(
            _new_id("file"), len(data), created, filename, purpose, mime_type, created + self._keep_seconds
        )
        await self._bucket.put(self._file_key(key_id, record.id), data, mime_type, self._metadata(record))
        return record

    @staticmethod
    def _metadata(record: FileRecord) -> dict[str, str]:
        return {
            "filename": record.filename.encode("unicode_escape").decode("ascii"),
            "purpose": record.purpose,
            "created-at": str(record.created_at),
        }

    async def get_file(self, key_id: str, file_id: str) -> FileRecord:
        try:
            found = await self._bucket.head(self._file_key(key_id, file_id))
        except ObjectMissing:
            raise NotFound(f"No such File object: {file_id}", param="file_id") from None
        meta = found.metadata
        created = int(meta.get("created-at", "0"))
        return FileRecord(
            id=file_id,
            bytes=found.size,
            created_at=created,
            filename=meta.get("filename", file_id).encode("ascii").decode("unicode_escape"),
            purpose=meta.get("purpose", "user_data"),
            mime_type=found.content_type,
            expires_at=created + self._keep_seconds,
        )

    async def read_file(self, key_id: str, file_id: str) -> tuple[FileRecord, bytes]:
        record = await self.get_file(key_id, file_id)
        try:
            return record, await self._bucket.read(self._file_key(key_id, file_id))
        except ObjectMissing:
            raise NotFound(f"No such File object: {file_id}", param="file_id") from None

    async def list_files(self, key_id: str) -> list[FileRecord]:
        keys = await self._bucket.keys(f"files/{key_id}/")
        return [await self.get_file(key_id, key.rsplit("/", 1)[-1]) for key in keys]

    async def delete_file(self, key_id: str, file_id: str) -> None:
        await self.get_file(key_id, file_id)  # 404 when it is not this key's
        await self._bucket.delete(self._file_key(key_id, file_id))

    # --- uploads --------------------------------------------------------------------------------------------
    async def create_upload(
        self, key_id: str, filename: str, purpose: str, size: int, mime_type: str
    ) -> UploadRecord:
        self._check(size, mime_type, "mime_type")
        created = int(time.time())
        file = FileRecord(
            _new_id("file"), size, created, filename, purpose, mime_type, created + self._keep_seconds
        )
        s3_upload_id = await self._bucket.start_multipart(
            self._file_key(key_id, file.id), mime_type, self._metadata(file)
        )
        upload = UploadRecord(
            _new_id("upload"), file.id, s3_upload_id, filename, purpose, size, mime_type, file.created_at
        )
        await self._save(key_id, upload)
        return upload

    async def _save(self, key_id: str, upload: UploadRecord) -> None:
        body = orjson.dumps(asdict(upload))
        await self._bucket.put(self._upload_key(key_id, upload.id), body, "application/json", {})

    async def get_upload(self, key_id: str, upload_id: str) -> UploadRecord:
        try:
            body = await self._bucket.read(self._upload_key(key_id, upload_id))
        except ObjectMissing:
            raise NotFound(f"No such Upload object: {upload_id}", param="upload_id") from None
        return UploadRecord(**orjson.loads(body))

    async def _pending(self, key_id: str, upload_id: str) -> UploadRecord:
        upload = await self.get_upload(key_id, upload_id)
        if upload.status != "pending":
            raise InvalidRequest(f"The upload {upload_id} is {upload.status}.", param="upload_id")
        return upload

    async def add_part(self, key_id: str, upload_id: str, data: bytes) -> dict[str, Any]:
        """Store one part as the next S3 part; parts arrive one after another (the SDK sends them in order)."""
        upload = await self._pending(key_id, upload_id)
        s3_key = self._file_key(key_id, upload.file_id)
        stored = await self._bucket.parts(s3_key, upload.s3_upload_id)
        received = sum(p.size for p in stored)
        if received + len(data) > upload.bytes:
            raise InvalidRequest(
                f"The parts add up to more than the upload's declared {upload.bytes} bytes.", param="data"
            )
        if not data or (len(data) < S3_MIN_PART_BYTES and received + len(data) < upload.bytes):
            raise InvalidRequest(
                f"Every part but the last must be at least {S3_MIN_PART_BYTES} bytes (5 MiB) here; "
                f"this one has {len(data)}. With the OpenAI SDK: upload_file_chunked(..., part_size=5 * 1024 * 1024).",
                param="data",
            )
        number = max((p.number for p in stored), default=0) + 1
        if number > S3_MAX_PARTS:
            raise InvalidRequest(f"An upload has at most {S3_MAX_PARTS} parts.", param="data")
        await self._bucket.upload_part(s3_key, upload.s3_upload_id, number, data)
        return {
            "id": _part_id(number),
            "object": "upload.part",
            "created_at": int(time.time()),
            "upload_id": upload_id,
        }

    async def complete_upload(
        self, key_id: str, upload_id: str, part_ids: list[str]
    ) -> tuple[UploadRecord, FileRecord]:
        upload = await self._pending(key_id, upload_id)
        s3_key = self._file_key(key_id, upload.file_id)
        stored = {p.number: p for p in await self._bucket.parts(s3_key, upload.s3_upload_id)}
        chosen: list[StoredPart] = []
        for part_id in part_ids:
            number = _part_number(part_id)
            if number is None or number not in stored:
                raise InvalidRequest(f"No such part in this upload: {part_id}", param="part_ids")
            if chosen and number <= chosen[-1].number:
                raise InvalidRequest(
                    "Parts must be listed in the order they were uploaded.", param="part_ids"
                )
            chosen.append(stored[number])
        total = sum(p.size for p in chosen)
        if total != upload.bytes:
            raise InvalidRequest(
                f"The parts add up to {total} bytes, not the {upload.bytes} the upload declared.",
                param="part_ids",
            )
        await self._bucket.complete_multipart(s3_key, upload.s3_upload_id, chosen)
        upload.status = "completed"
        await self._save(key_id, upload)
        return upload, await self.get_file(key_id, upload.file_id)

    async def cancel_upload(self, key_id: str, upload_id: str) -> UploadRecord:
        upload = await self._pending(key_id, upload_id)
        with contextlib.suppress(ObjectMissing):  # already gone (expired by the bucket's lifecycle rule)
            await self._bucket.abort_multipart(self._file_key(key_id, upload.file_id), upload.s3_upload_id)
        upload.status = "cancelled"
        await self._save(key_id, upload)
        return upload
