"""The inputs bucket on S3: objects and multipart uploads, for the Files and Uploads APIs.

boto3's S3 client, called off the event loop (`anyio.to_thread`). These calls are per upload part or per
file reference, not per token, and each moves up to megabytes, where the request's own transfer dominates
boto3's per-call CPU (~1-3 ms); the signed-aiohttp path (`signed_http`) earns its keep on the per-request
ledger write and the Bedrock stream, not here. The client is made on first use (no network at import) and
only ever addresses the one configured bucket.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from pennyworth.settings import Settings

_MISSING = {"NoSuchKey", "404", "NotFound", "NoSuchUpload"}


class ObjectMissing(Exception):
    """The object (or multipart upload) does not exist."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    metadata: dict[str, str]
    content_type: str


@dataclass(frozen=True)
class StoredPart:
    number: int
    etag: str
    size: int


class Bucket:
    """One S3 bucket; every method is async and runs boto3 in a worker thread."""

    def __init__(self, settings: Settings, name: str) -> None:
        self.name = name
        self._region = settings.aws_region
        self._endpoint = settings.s3_endpoint_url
        self._client: Any = None

    def _s3(self) -> Any:
        if self._client is None:
            config = Config(retries={"mode": "standard", "max_attempts": 4}, s3={"addressing_style": "path"})
            self._client = boto3.session.Session().client(
                "s3", region_name=self._region, endpoint_url=self._endpoint, config=config
            )
        return self._client

    async def _call(self, operation: str, **kwargs: Any) -> Any:
        method = getattr(self._s3(), operation)
        try:
            return await anyio.to_thread.run_sync(partial(method, Bucket=self.name, **kwargs))
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _MISSING:
                raise ObjectMissing(kwargs.get("Key", "")) from exc
            raise

    async def put(self, key: str, body: bytes, content_type: str, metadata: dict[str, str]) -> None:
        await self._call(
            "put_object",
            Key=key,
            Body=body,
            ContentType=content_type,
            Metadata=metadata,
            ServerSideEncryption="AES256",
        )

    async def head(self, key: str) -> StoredObject:
        answer = await self._call("head_object", Key=key)
        return StoredObject(
            key,
            int(answer["ContentLength"]),
            dict(answer.get("Metadata") or {}),
            answer.get("ContentType", ""),
        )

    async def read(self, key: str) -> bytes:
        answer = await self._call("get_object", Key=key)
        return await anyio.to_thread.run_sync(answer["Body"].read)

    async def delete(self, key: str) -> None:
        await self._call("delete_object", Key=key)

    async def keys(self, prefix: str, limit: int = 1000) -> list[str]:
        answer = await self._call("list_objects_v2", Prefix=prefix, MaxKeys=limit)
        return [item["Key"] for item in answer.get("Contents") or []]

    async def start_multipart(self, key: str, content_type: str, metadata: dict[str, str]) -> str:
        answer = await self._call(
            "create_multipart_upload",
            Key=key,
            ContentType=content_type,
            Metadata=metadata,
            ServerSideEncryption="AES256",
        )
        return str(answer["UploadId"])

    async def upload_part(self, key: str, upload_id: str, number: int, body: bytes) -> str:
        answer = await self._call("upload_part", Key=key, UploadId=upload_id, PartNumber=number, Body=body)
        return str(answer["ETag"])

    async def parts(self, key: str, upload_id: str) -> list[StoredPart]:
        answer = await self._call("list_parts", Key=key, UploadId=upload_id, MaxParts=1000)
        return [
            StoredPart(int(p["PartNumber"]), str(p["ETag"]), int(p["Size"]))
            for p in answer.get("Parts") or []
        ]

    async def complete_multipart(self, key: str, upload_id: str, parts: list[StoredPart]) -> None:
        listing = [{"PartNumber": p.number, "ETag": p.etag} for p in parts]
        await self._call(
            "complete_multipart_upload", Key=key, UploadId=upload_id, MultipartUpload={"Parts": listing}
        )

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        await self._call("abort_multipart_upload", Key=key, UploadId=upload_id)
