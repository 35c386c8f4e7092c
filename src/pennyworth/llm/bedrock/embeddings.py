"""OpenAI embedding inputs → Bedrock InvokeModel bodies (Titan text v2 and Cohere v3), and their vectors back.

The body family follows the model id's provider prefix (`amazon.titan-embed-*`, `cohere.embed-*`), which is
the wire format's own name rather than a capability. Floats are always requested: OpenAI's `base64` is the
same float32 vector, encoded by the API layer.
"""

from __future__ import annotations

from typing import Any

from pennyworth.catalog import ModelRoute
from pennyworth.errors import InvalidRequest, UpstreamError

COHERE_BATCH = 96  # Cohere on Bedrock embeds at most 96 texts per call


def embedding_bodies(route: ModelRoute, inputs: list[str], dimensions: int | None) -> list[dict[str, Any]]:
    """InvokeModel bodies for an embedding call: one per input for Titan, batches of 96 for Cohere."""
    model_id = route.model_id
    if "titan-embed" in model_id:
        extra: dict[str, Any] = {"dimensions": dimensions} if dimensions else {}
        return [{"inputText": text, **extra} for text in inputs]
    if "cohere.embed" in model_id:
        if dimensions:
            raise InvalidRequest(
                f"The model '{route.name}' does not support 'dimensions'.", param="dimensions"
            )
        return [
            {"texts": inputs[start : start + COHERE_BATCH], "input_type": "search_document"}
            for start in range(0, len(inputs), COHERE_BATCH)
        ]
    raise InvalidRequest(f"The model '{route.name}' is not a supported embedding model.", param="model")


def vectors_from(body: dict[str, Any]) -> list[list[float]]:
    """Titan's `embedding` (or `embeddingsByType.float`), or Cohere's `embeddings` (list, or by type)."""
    if "embedding" in body:
        return [body["embedding"]]
    by_type = body.get("embeddingsByType")
    if isinstance(by_type, dict) and "float" in by_type:
        return [by_type["float"]]
    embeddings = body.get("embeddings")
    if isinstance(embeddings, dict):
        embeddings = embeddings.get("float")
    if isinstance(embeddings, list):
        return embeddings
    raise UpstreamError("Bedrock's embedding response had no vectors.")
