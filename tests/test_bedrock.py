"""The Bedrock wire: error mapping, event-stream decoding with CRC checks, SigV4 against the double."""

from __future__ import annotations

import asyncio

import pytest

from pennyworth.errors import InvalidRequest, PermissionDenied, RateLimited, UpstreamError
from pennyworth.llm.bedrock.wire import BedrockRuntime, EventStream, bedrock_error
from pennyworth.settings import Settings
from pennyworth_dev.eventstream import event_frame, exception_frame


def test_error_names_in_both_cases() -> None:
    assert isinstance(bedrock_error("ThrottlingException:http://x", "slow"), RateLimited)
    assert isinstance(bedrock_error("throttlingException", "slow"), RateLimited)
    assert isinstance(bedrock_error("validationException", "bad"), InvalidRequest)
    assert isinstance(bedrock_error("AccessDeniedException", "no"), PermissionDenied)
    assert bedrock_error("ThrottlingException", "x", retry_after="7").retry_after == 7


def _stream_of(*frames: bytes, split: int = 7) -> EventStream:
    data = b"".join(frames)
    pieces = [data[i : i + split] for i in range(0, len(data), split)]  # frames cut across reads

    async def body():
        for piece in pieces:
            yield piece

    return EventStream(body(), lambda: None)


async def _collect(stream: EventStream) -> list:
    return [item async for item in stream.events()]


def test_event_stream_frames_are_decoded_across_read_boundaries() -> None:
    stream = _stream_of(
        event_frame("messageStart", b'{"role":"assistant"}'),
        event_frame("contentBlockDelta", b'{"delta":{"text":"hi"}}'),
    )
    assert asyncio.run(_collect(stream)) == [
        ("messageStart", {"role": "assistant"}),
        ("contentBlockDelta", {"delta": {"text": "hi"}}),
    ]


def test_corrupted_frame_is_an_upstream_error() -> None:
    frame = bytearray(event_frame("contentBlockDelta", b'{"delta":{"text":"hi"}}'))
    frame[-6] ^= 0xFF  # payload byte: the message CRC no longer matches
    with pytest.raises(UpstreamError, match="broke off"):
        asyncio.run(_collect(_stream_of(bytes(frame))))


def test_exception_frame_maps_to_our_error() -> None:
    stream = _stream_of(
        event_frame("messageStart", b"{}"), exception_frame("throttlingException", "too fast")
    )
    with pytest.raises(RateLimited, match="too fast"):
        asyncio.run(_collect(stream))


def test_signed_calls_are_accepted_by_the_double(double) -> None:
    runtime = BedrockRuntime(Settings(AWS_ENDPOINT_URL_BEDROCK_RUNTIME=double.url))

    async def run():
        try:
            return await runtime.invoke("amazon.titan-embed-text-v2:0", b'{"inputText": "hi"}')
        finally:
            await runtime.aclose()

    body, tokens = asyncio.run(run())
    assert len(body["embedding"]) == 1024 and tokens == 1


def test_endpoint_from_litellm_variable(monkeypatch) -> None:
    monkeypatch.setenv("AWS_BEDROCK_RUNTIME_ENDPOINT", "http://127.0.0.1:1234")
    assert Settings().bedrock_endpoint_url == "http://127.0.0.1:1234"
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://127.0.0.1:5678")
    assert Settings().bedrock_endpoint_url == "http://127.0.0.1:5678"
