"""Files and Uploads APIs end to end: the OpenAI SDK → gateway → the inputs bucket (moto's S3).

A file belongs to the key that uploaded it; the SDK's chunked uploader works unchanged with a part size under
the body limit; S3's rules (5 MiB parts but the last) are met or refused with a clear 400; no ledger rows.
"""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import openai
import pytest

from pennyworth.access.keys import KeyStore
from pennyworth.access.table import table
from pennyworth.access.usage import UsageLedger
from pennyworth.api.app import create_app
from tests.support.servers import serve_app

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def files_gateway(double, dynamodb, table_name):
    from tests.conftest import gateway_settings

    settings = gateway_settings(double, dynamodb, table_name, max_file_bytes=40 * MiB)
    with serve_app(create_app(settings)) as url:
        yield url, KeyStore(table(settings)), UsageLedger(table(settings))


def sdk(url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=120)


def new_client(files_gateway, name: str) -> tuple[openai.OpenAI, str]:
    url, store, _ = files_gateway
    record, key = store.create({"name": name})
    return sdk(url, key), record.key_id


def test_file_lifecycle_and_ownership(files_gateway) -> None:
    client, key_id = new_client(files_gateway, "files owner")
    other, _ = new_client(files_gateway, "files stranger")
    created = client.files.create(
        file=("notes.md", io.BytesIO(b"# Notes\nhello"), "text/markdown"), purpose="user_data"
    )
    assert created.id.startswith("file-") and created.bytes == 13 and created.filename == "notes.md"
    assert created.purpose == "user_data" and created.status == "processed"
    assert created.expires_at == created.created_at + 86400  # the bucket's lifecycle: one day by default
    assert client.files.retrieve(created.id).filename == "notes.md"
    assert [f.id for f in client.files.list()] == [created.id]
    assert client.files.content(created.id).content == b"# Notes\nhello"

    with pytest.raises(openai.NotFoundError):
        other.files.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        other.files.delete(created.id)
    assert list(other.files.list()) == []

    assert client.files.delete(created.id).deleted is True
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(created.id)
    _, _, ledger = files_gateway
    assert ledger.rows(key_id) == []  # uploads never touch the ledger


def test_type_is_guessed_from_the_name_and_refused_when_not_allowed(files_gateway) -> None:
    client, _ = new_client(files_gateway, "files types")
    pdf = client.files.create(file=("paper.pdf", b"%PDF-1.4 tiny"), purpose="user_data")
    assert pdf.bytes == 13
    with pytest.raises(openai.BadRequestError) as refused:
        client.files.create(file=("tool.exe", b"MZ", "application/x-msdownload"), purpose="user_data")
    assert "application/x-msdownload" in refused.value.message
    with pytest.raises(openai.BadRequestError):
        client.files.create(file=("x.txt", b"x"), purpose=None)  # type: ignore[arg-type]


def test_not_multipart_is_a_clear_400(files_gateway) -> None:
    url, store, _ = files_gateway
    _, key = store.create({"name": "files raw"})
    answer = httpx.post(f"{url}/v1/files", headers={"Authorization": f"Bearer {key}"}, json={"file": "x"})
    assert answer.status_code == 400 and "multipart/form-data" in answer.json()["error"]["message"]


def test_sdk_chunked_upload_of_20_mb(files_gateway, tmp_path: Path) -> None:
    client, _ = new_client(files_gateway, "files chunked")
    data = bytes(range(256)) * (20 * MiB // 256) + b"tail"
    path = tmp_path / "big.txt"
    path.write_bytes(data)
    upload = client.uploads.upload_file_chunked(
        file=path, mime_type="text/plain", purpose="user_data", part_size=5 * MiB
    )
    assert upload.status == "completed" and upload.bytes == len(data)
    assert upload.file is not None and upload.file.bytes == len(data) and upload.file.filename == "big.txt"
    assert client.files.content(upload.file.id).content == data


def test_upload_rules(files_gateway) -> None:
    client, _ = new_client(files_gateway, "files upload rules")
    upload = client.uploads.create(
        bytes=6 * MiB, filename="a.txt", mime_type="text/plain", purpose="user_data"
    )
    with pytest.raises(openai.BadRequestError) as small:
        client.uploads.parts.create(upload_id=upload.id, data=b"x" * MiB)  # not the last, under 5 MiB
    assert "5 MiB" in small.value.message
    first = client.uploads.parts.create(upload_id=upload.id, data=b"x" * 5 * MiB)
    with pytest.raises(openai.BadRequestError):  # more than the declared size
        client.uploads.parts.create(upload_id=upload.id, data=b"y" * 2 * MiB)
    with pytest.raises(openai.BadRequestError):  # parts short of the declared size
        client.uploads.complete(upload_id=upload.id, part_ids=[first.id])
    last = client.uploads.parts.create(upload_id=upload.id, data=b"y" * MiB)
    with pytest.raises(openai.BadRequestError):
        client.uploads.complete(upload_id=upload.id, part_ids=[last.id, first.id])
    done = client.uploads.complete(upload_id=upload.id, part_ids=[first.id, last.id])
    assert done.status == "completed" and done.file is not None

    other, _ = new_client(files_gateway, "files upload stranger")
    cancelled = client.uploads.create(bytes=10, filename="b.txt", mime_type="text/plain", purpose="user_data")
    with pytest.raises(openai.NotFoundError):
        other.uploads.cancel(cancelled.id)
    assert client.uploads.cancel(cancelled.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError):
        client.uploads.parts.create(upload_id=cancelled.id, data=b"0123456789")
    with pytest.raises(openai.APIStatusError) as too_big:
        client.uploads.create(bytes=41 * MiB, filename="c.txt", mime_type="text/plain", purpose="user_data")
    assert too_big.value.status_code == 413
