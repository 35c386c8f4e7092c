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


def test_docs_page(gateway_url: str) -> None:
    response = httpx.get(f"{gateway_url}/docs")
    assert response.status_code == 200 and "swagger" in response.text.lower()
