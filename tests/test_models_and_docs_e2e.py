"""`/v1/models`, `/health`, `/docs` and `/openapi.json`."""

from __future__ import annotations

import httpx
import openai
import pytest


def test_models_list(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert {
        "claude-sonnet-5-5",
        "claude-opus-5-5",
        "claude-haiku-5-5",
        "nova-pro",
        "titan-embed-text-v2",
    } <= set(ids)
    assert {"gpt-4o", "gpt-4o-mini", "text-embedding-3-small"} <= set(ids)
    assert len(ids) == len(set(ids))


def test_model_retrieve(client: openai.OpenAI) -> None:
    model = client.models.retrieve("claude-sonnet-5-5")
    assert model.id == "claude-sonnet-5-5" and model.object == "model" and model.owned_by == "pennyworth"


def test_model_retrieve_unknown(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("nope-1")
    assert caught.value.body["code"] == "model_not_found"


def test_health_needs_no_key(gateway_url: str) -> None:
    response = httpx.get(f"{gateway_url}/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_openapi_documents_every_route_with_models(gateway_url: str) -> None:
    spec = httpx.get(f"{gateway_url}/openapi.json").json()
    paths = spec["paths"]
    assert {
        "/health",
        "/v1/chat/completions",
        "/v1/embeddings",
        "/v1/models",
        "/v1/models/{model_id}",
    } <= set(paths)
    chat = paths["/v1/chat/completions"]["post"]
    assert chat["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "ChatCompletionRequest"
    )
    assert chat["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "ChatCompletion"
    )
    assert chat["responses"]["429"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorResponse")
    embeddings = paths["/v1/embeddings"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert embeddings["$ref"].endswith("EmbeddingResponse")
    assert (
        "ModelList"
        in paths["/v1/models"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    )


def test_openapi_says_what_the_gateway_does(gateway_url: str) -> None:
    spec = httpx.get(f"{gateway_url}/openapi.json").json()
    operations = [op for ops in spec["paths"].values() for op in ops.values()]
    assert all("422" not in op["responses"] for op in operations)  # validation errors are 400s
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path in ("/v1/chat/completions", "/v1/responses", "/v1/messages"):
        assert "text/event-stream" in spec["paths"][path]["post"]["responses"]["200"]["content"]
    schemas = spec["components"]["schemas"]
    assert schemas["ErrorResponse"]["additionalProperties"] is False
    assert set(schemas["ErrorBody"]["required"]) == {"message", "type", "param", "code"}
    n = schemas["ChatCompletionRequest"]["properties"]["n"]
    assert (n["minimum"], n["maximum"]) == (1, 1)
    text, texts = schemas["EmbeddingRequest"]["properties"]["input"]["anyOf"]
    assert text["minLength"] == 1 and texts["minItems"] == 1 and texts["items"]["minLength"] == 1
    assert schemas["ChatCompletionRequest"]["properties"]["model"]["maxLength"] == 256


def test_docs_page(gateway_url: str) -> None:
    response = httpx.get(f"{gateway_url}/docs")
    assert response.status_code == 200 and "swagger" in response.text.lower()
