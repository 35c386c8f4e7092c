"""Embeddings through the OpenAI SDK: float and base64 carry exactly the same float32 vectors."""

from __future__ import annotations

import base64
import struct

import httpx
import openai

from tests.conftest import API_KEY


def raw_embeddings(url: str, **body) -> dict:
    response = httpx.post(f"{url}/v1/embeddings", json=body, headers={"Authorization": f"Bearer {API_KEY}"})
    assert response.status_code == 200, response.text
    return response.json()


def test_float_embeddings(client: openai.OpenAI, double) -> None:
    result = client.embeddings.create(
        model="titan-embed-text-v2", input="hello world", encoding_format="float"
    )
    assert result.object == "list" and result.model == "titan-embed-text-v2"
    assert len(result.data) == 1 and len(result.data[0].embedding) == 1024
    assert result.usage.prompt_tokens == 2 and result.usage.total_tokens == 2
    assert double.requests[-1][:2] == ("invoke", "amazon.titan-embed-text-v2:0")


def test_base64_decodes_to_exactly_the_float_values(gateway_url: str) -> None:
    floats = raw_embeddings(
        gateway_url, model="titan-embed-text-v2", input=["alpha", "beta"], encoding_format="float"
    )
    encoded = raw_embeddings(
        gateway_url, model="titan-embed-text-v2", input=["alpha", "beta"], encoding_format="base64"
    )
    for as_float, as_b64 in zip(floats["data"], encoded["data"], strict=True):
        raw = base64.b64decode(as_b64["embedding"])
        decoded = list(struct.unpack(f"<{len(raw) // 4}f", raw))
        assert decoded == as_float["embedding"]  # bit-for-bit equal, not approximately


def test_sdk_default_encoding_matches_float(client: openai.OpenAI) -> None:
    default = client.embeddings.create(
        model="text-embedding-3-small", input="same text"
    )  # SDK asks for base64
    explicit = client.embeddings.create(
        model="text-embedding-3-small", input="same text", encoding_format="float"
    )
    assert default.data[0].embedding == explicit.data[0].embedding


def test_list_input_keeps_order(client: openai.OpenAI) -> None:
    texts = ["one", "two words", "three little words"]
    batch = client.embeddings.create(model="titan-embed-text-v2", input=texts, encoding_format="float")
    singles = [
        client.embeddings.create(model="titan-embed-text-v2", input=t, encoding_format="float") for t in texts
    ]
    assert [d.index for d in batch.data] == [0, 1, 2]
    assert [d.embedding for d in batch.data] == [s.data[0].embedding for s in singles]
    assert batch.usage.prompt_tokens == 1 + 2 + 3


def test_titan_dimensions(client: openai.OpenAI, double) -> None:
    result = client.embeddings.create(
        model="titan-embed-text-v2", input="hi", dimensions=256, encoding_format="float"
    )
    assert len(result.data[0].embedding) == 256
    assert double.requests[-1][2]["dimensions"] == 256


def test_cohere_batch(client: openai.OpenAI, double) -> None:
    result = client.embeddings.create(model="cohere-embed-v3", input=["a", "b"], encoding_format="float")
    assert len(result.data) == 2 and len(result.data[1].embedding) == 1024
    operation, model_id, body = double.requests[-1]
    assert (operation, model_id) == ("invoke", "cohere.embed-english-v3")
    assert body["texts"] == ["a", "b"] and body["input_type"]
    assert result.usage.prompt_tokens == 2


def test_dimensions_refused_where_unsupported(client: openai.OpenAI) -> None:
    try:
        client.embeddings.create(model="cohere-embed-v3", input="a", dimensions=256)
    except openai.BadRequestError as exc:
        assert exc.body["param"] == "dimensions"
    else:
        raise AssertionError("expected a 400")


def test_chat_model_for_embeddings_is_refused(client: openai.OpenAI) -> None:
    try:
        client.embeddings.create(model="nova-pro", input="a")
    except openai.BadRequestError as exc:
        assert "chat model" in exc.body["message"]
    else:
        raise AssertionError("expected a 400")


def test_empty_input_is_refused(gateway_url: str) -> None:
    response = httpx.post(
        f"{gateway_url}/v1/embeddings",
        json={"model": "titan-embed-text-v2", "input": []},
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert response.status_code == 400 and response.json()["error"]["param"] == "input"


def test_embedding_throttled(client: openai.OpenAI) -> None:
    try:
        client.embeddings.create(model="titan-embed-text-v2", input="[[double:error=ThrottlingException]]")
    except openai.RateLimitError as exc:
        assert exc.response.headers["retry-after"]
    else:
        raise AssertionError("expected a 429")


def test_one_failing_input_fails_the_call_with_its_own_error(client: openai.OpenAI) -> None:
    """Titan takes one input per call: the calls run together, and the first failure is the request's (a clean
    400 in the envelope, not an error group)."""
    inputs = [f"input {i}" for i in range(12)] + ["[[double:error=ValidationException]] bad"]
    try:
        client.embeddings.create(model="titan-embed-text-v2", input=inputs)
    except openai.BadRequestError as exc:
        assert (
            exc.status_code == 400
            and exc.body["message"] == "Injected ValidationException from the Bedrock double."
        )
    else:
        raise AssertionError("expected a 400")
