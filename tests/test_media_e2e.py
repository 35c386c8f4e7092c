"""Documents and video end to end: uploaded files and inline data reach Claude, Nova and Pegasus the way each
takes them, through the OpenAI, Responses and Anthropic APIs; the double refuses what Bedrock refuses.

What reached the model is read from the double's request log and from its echo ("I received: ...").
"""

from __future__ import annotations

import base64
from pathlib import Path

import anthropic
import openai
import pytest

from pennyworth.access.keys import KeyStore
from pennyworth.access.table import table
from pennyworth.api.app import create_app
from pennyworth_dev import double_media
from pennyworth_dev.double_script import DoubleError
from tests.conftest import INPUTS_BUCKET
from tests.support.servers import serve_app

MiB = 1024 * 1024
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(2000)


@pytest.fixture(scope="module")
def media_gateway(double, dynamodb, table_name):
    from tests.conftest import gateway_settings

    settings = gateway_settings(double, dynamodb, table_name)
    with serve_app(create_app(settings)) as url:
        yield url, KeyStore(table(settings))


@pytest.fixture
def keyed(media_gateway):
    url, store = media_gateway
    record, key = store.create({"name": "media"})
    return url, key, record.key_id


def sdk(url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=120)


def last_request(double, operation: str) -> tuple[str, dict]:
    _, model_id, body = next(r for r in reversed(double.requests) if r[0] == operation)
    return model_id, body


def blocks(body: dict) -> list[dict]:
    return [b for m in body["messages"] for b in m["content"] if isinstance(b, dict)]


def test_pdf_by_id_reaches_claude_as_a_named_document(keyed, double) -> None:
    url, key, _ = keyed
    client = sdk(url, key)
    pdf = client.files.create(
        file=("Quarterly_report: 2026.pdf", PDF, "application/pdf"), purpose="user_data"
    )
    reply = client.chat.completions.create(
        model="claude-sonnet-5-5",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Summarise"},
                    {"type": "file", "file": {"file_id": pdf.id}},
                ],
            }
        ],
    )
    assert "I received: document pdf 'Quarterly report 2026'" in (reply.choices[0].message.content or "")
    _, body = last_request(double, "converse")
    (document,) = [b["document"] for b in blocks(body) if "document" in b]
    assert document["format"] == "pdf" and document["name"] == "Quarterly report 2026"
    assert base64.b64decode(document["source"]["bytes"]) == PDF  # Claude does not read S3: bytes inline


def test_inline_documents_and_their_names(keyed, double) -> None:
    url, key, _ = keyed
    data = "data:text/csv;base64," + base64.b64encode(b"a,b\n1,2\n").decode()
    reply = sdk(url, key).chat.completions.create(
        model="nova-pro",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Read both"},
                    {"type": "file", "file": {"file_data": data, "filename": "numbers.csv"}},
                    {"type": "file", "file": {"file_data": data}},
                ],
            }
        ],
    )
    text = reply.choices[0].message.content or ""
    assert "document csv 'numbers'" in text and "document csv 'document 2'" in text


def test_anthropic_document_blocks_by_file_and_inline(keyed, double) -> None:
    url, key, _ = keyed
    pdf = sdk(url, key).files.create(file=("paper.pdf", PDF), purpose="user_data")
    claude = anthropic.Anthropic(base_url=url, api_key=key, max_retries=0, timeout=30)
    message = claude.messages.create(
        model="claude-sonnet-5-5",
        max_tokens=200,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "document", "source": {"type": "file", "file_id": pdf.id}},  # type: ignore[typeddict-item]
                    {
                        "type": "document",
                        "source": {
                            "type": "base64",
                            "media_type": "application/pdf",
                            "data": base64.b64encode(PDF).decode(),
                        },
                    },
                    {"type": "text", "text": "Compare"},
                ],
            }
        ],
    )
    assert message.content[0].text.count("document application/pdf") == 2  # type: ignore[union-attr]
    _, body = last_request(double, "invoke")
    sources = [b["source"] for b in body["messages"][0]["content"] if b["type"] == "document"]
    assert [s["type"] for s in sources] == ["base64", "base64"]
    assert base64.b64decode(sources[0]["data"]) == PDF


def test_video_reaches_nova_by_s3_location_and_inline(keyed, double) -> None:
    url, key, key_id = keyed
    client = sdk(url, key)
    video = client.files.create(file=("clip.mp4", MP4, "video/mp4"), purpose="user_data")
    reply = client.chat.completions.create(
        model="nova-pro",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What happens?"},
                    {"type": "video_url", "video_url": {"url": video.id}},  # type: ignore[typeddict-unknown-key,misc,list-item]
                ],
            }
        ],
    )
    uri = f"s3://{INPUTS_BUCKET}/files/{key_id}/{video.id}"
    assert f"I received: video mp4 ({uri})" in (reply.choices[0].message.content or "")
    inline = "data:video/mp4;base64," + base64.b64encode(MP4).decode()
    streamed = client.chat.completions.create(
        model="nova-lite",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "video_url", "video_url": {"url": inline}},
                    {"type": "text", "text": "Hi"},
                ],
            }
        ],  # type: ignore[list-item,misc]
        stream=True,
    )
    text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    assert f"video mp4 ({len(MP4)} bytes)" in text


def test_video_reaches_pegasus_through_its_own_body(keyed, double) -> None:
    url, key, key_id = keyed
    client = sdk(url, key)
    video = client.files.create(file=("match.mov", MP4, "video/quicktime"), purpose="user_data")
    message = {
        "role": "user",
        "content": [{"type": "text", "text": "Who scores?"}, {"type": "file", "file": {"file_id": video.id}}],
    }
    reply = client.chat.completions.create(model="pegasus-1-2", messages=[message], max_tokens=300)  # type: ignore[list-item]
    assert "Pegasus watched the video (s3://" in (reply.choices[0].message.content or "")
    assert reply.choices[0].finish_reason == "stop" and reply.usage is not None
    model_id, body = last_request(double, "invoke")
    assert model_id == "us.twelvelabs.pegasus-1-2-v1:0"
    assert body == {
        "inputPrompt": "Who scores?",
        "mediaSource": {"s3Location": {"uri": f"s3://{INPUTS_BUCKET}/files/{key_id}/{video.id}"}},
        "maxOutputTokens": 300,
    }
    chunks = list(client.chat.completions.create(model="pegasus-1-2", messages=[message], stream=True))  # type: ignore[list-item]
    assert "Pegasus watched" in "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    with pytest.raises(openai.BadRequestError):  # Pegasus needs its video
        client.chat.completions.create(model="pegasus-1-2", messages=[{"role": "user", "content": "Hi"}])


def test_responses_input_file_and_image_by_id(keyed, double) -> None:
    url, key, key_id = keyed
    client = sdk(url, key)
    pdf = client.files.create(file=("brief.pdf", PDF), purpose="user_data")
    answer = client.responses.create(
        model="nova-pro",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_file", "file_id": pdf.id},
                    {"type": "input_text", "text": "Sum up"},
                ],
            }
        ],
    )
    assert "document pdf 'brief'" in answer.output_text
    png = client.files.create(file=("dot.png", PNG, "image/png"), purpose="user_data")
    for model, source in (
        ("nova-pro", {"s3Location": {"uri": f"s3://{INPUTS_BUCKET}/files/{key_id}/{png.id}"}}),  # reads S3
        ("claude-sonnet-5-5", {"bytes": base64.b64encode(PNG).decode()}),  # inline
    ):
        client.responses.create(
            model=model,
            input=[
                {
                    "role": "user",
                    "content": [
                        {"type": "input_image", "file_id": png.id},  # type: ignore[typeddict-item,list-item]
                        {"type": "input_text", "text": "What is it?"},
                    ],
                }
            ],
        )
        _, body = last_request(double, "converse")
        assert [b["image"] for b in blocks(body) if "image" in b] == [{"format": "png", "source": source}]


def test_chat_image_url_naming_a_file_and_anthropic_image_from_a_file(keyed, double) -> None:
    url, key, key_id = keyed
    client = sdk(url, key)
    png = client.files.create(file=("dot.png", PNG, "image/png"), purpose="user_data")
    for model, source in (
        ("nova-pro", {"s3Location": {"uri": f"s3://{INPUTS_BUCKET}/files/{key_id}/{png.id}"}}),
        ("claude-sonnet-5-5", {"bytes": base64.b64encode(PNG).decode()}),
    ):
        client.chat.completions.create(
            model=model,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": png.id}},
                        {"type": "text", "text": "What is it?"},
                    ],
                }
            ],
        )
        _, body = last_request(double, "converse")
        assert [b["image"] for b in blocks(body) if "image" in b] == [{"format": "png", "source": source}]
    claude = anthropic.Anthropic(base_url=url, api_key=key, max_retries=0, timeout=30)
    message = claude.messages.create(
        model="claude-sonnet-5-5",
        max_tokens=200,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "file", "file_id": png.id}},  # type: ignore[typeddict-item]
                    {"type": "text", "text": "What is it?"},
                ],
            }
        ],
    )
    assert "image image/png" in message.content[0].text  # type: ignore[union-attr]
    _, body = last_request(double, "invoke")
    (image,) = [b for b in body["messages"][0]["content"] if b["type"] == "image"]
    assert image["source"] == {
        "type": "base64",
        "media_type": "image/png",
        "data": base64.b64encode(PNG).decode(),
    }


def test_references_are_checked(keyed, media_gateway) -> None:
    url, key, _ = keyed
    client = sdk(url, key)
    _, store = media_gateway
    _, stranger_key = store.create({"name": "media stranger"})
    theirs = sdk(url, stranger_key).files.create(file=("secret.pdf", PDF), purpose="user_data")
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(
            model="claude-sonnet-5-5",
            messages=[{"role": "user", "content": [{"type": "file", "file": {"file_id": theirs.id}}]}],
        )
    for url_value in ("https://example.com/v.mp4", "s3://other-bucket/v.mp4"):
        with pytest.raises(openai.BadRequestError) as refused:
            client.chat.completions.create(
                model="nova-pro",
                messages=[
                    {"role": "user", "content": [{"type": "video_url", "video_url": {"url": url_value}}]}
                ],  # type: ignore[list-item,misc]
            )
        assert "not fetched" in refused.value.message
    video = client.files.create(file=("clip.mp4", MP4, "video/mp4"), purpose="user_data")
    with pytest.raises(openai.BadRequestError) as no_video:
        client.chat.completions.create(
            model="claude-sonnet-5-5",
            messages=[{"role": "user", "content": [{"type": "file", "file": {"file_id": video.id}}]}],
        )
    assert "does not take videos" in no_video.value.message
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="nova-pro",
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "file", "file": {"file_data": "data:application/pdf;base64,!!"}}],
                }
            ],
        )


def test_the_double_refuses_what_bedrock_refuses() -> None:
    pdf = base64.b64encode(PDF).decode()

    def body(block: dict) -> dict:
        return {"messages": [{"role": "user", "content": [block, {"text": "hi"}]}]}

    cases = [
        (
            "us.anthropic.claude-sonnet-5-5",
            {"document": {"format": "pdf", "name": "a", "source": {"s3Location": {"uri": "s3://b/k"}}}},
            "S3",
        ),
        (
            "us.amazon.nova-pro-v1:0",
            {"document": {"format": "pdf", "name": "DocumentPDFmessages_ab12_pdf", "source": {"bytes": pdf}}},
            "name",
        ),
        (
            "us.amazon.nova-pro-v1:0",
            {"document": {"format": "rtf", "name": "a", "source": {"bytes": pdf}}},
            "format",
        ),
        ("us.anthropic.claude-sonnet-5-5", {"video": {"format": "mp4", "source": {"bytes": pdf}}}, "video"),
        ("us.amazon.nova-pro-v1:0", {"video": {"format": "avi", "source": {"bytes": pdf}}}, "format"),
        (
            "us.amazon.nova-pro-v1:0",
            {"document": {"format": "pdf", "name": "a", "source": {}}},
            "exactly one",
        ),
    ]
    for model_id, block, words in cases:
        with pytest.raises(DoubleError) as refused:
            double_media.check_converse_media(model_id, body(block))
        assert words in refused.value.message and refused.value.name == "ValidationException"
    with pytest.raises(DoubleError):
        double_media.pegasus_reply("us.twelvelabs.pegasus-1-2-v1:0", {"inputPrompt": "x", "mediaSource": {}})


def test_sdk_uploads_20_mb_video_and_nova_answers_about_it(keyed, double, tmp_path: Path) -> None:
    url, key, key_id = keyed
    client = sdk(url, key)
    path = tmp_path / "long.mp4"
    path.write_bytes(MP4 + bytes(20 * MiB))
    upload = client.uploads.upload_file_chunked(
        file=path, mime_type="video/mp4", purpose="user_data", part_size=5 * MiB
    )
    assert upload.status == "completed" and upload.file is not None
    big_text = client.files.create(file=("big.txt", bytes(5 * MiB)), purpose="user_data")
    reply = client.chat.completions.create(
        model="nova-pro",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Describe"},
                    {"type": "file", "file": {"file_id": upload.file.id}},
                ],
            }
        ],
    )
    with pytest.raises(
        openai.BadRequestError
    ) as inline_only:  # Claude takes no S3 location: 4.5 MB inline at most
        client.chat.completions.create(
            model="claude-sonnet-5-5",
            messages=[{"role": "user", "content": [{"type": "file", "file": {"file_id": big_text.id}}]}],
        )
    assert "inline only" in inline_only.value.message
    assert f"video mp4 (s3://{INPUTS_BUCKET}/files/{key_id}/{upload.file.id})" in (
        reply.choices[0].message.content or ""
    )
