"""LiteLLM's translation of the same calls, as the oracle our own translation is compared against.

This is what the gateway ran before it had its own translation (LiteLLM's `AmazonConverseConfig` and its
Titan / Cohere embedding configs), kept here for the differential test only: the app never imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import litellm
from litellm import AmazonConverseConfig
from litellm.llms.bedrock.common_utils import bedrock_model_supports_regex_lookaround
from litellm.llms.bedrock.embed.amazon_titan_v2_transformation import AmazonTitanV2Config
from litellm.llms.bedrock.embed.cohere_transformation import BedrockCohereEmbeddingConfig

from pennyworth.catalog import ModelRoute
from pennyworth.llm.providers.other import MAPPED_PARAMS
from pennyworth.llm.types import ChatCall

litellm.suppress_debug_info = True
_CONVERSE = AmazonConverseConfig()
_TITAN_V2 = AmazonTitanV2Config()
_COHERE = BedrockCohereEmbeddingConfig()


@dataclass(frozen=True)
class OracleAnswer:
    body: dict[str, Any] | None  # None when LiteLLM refused the call
    json_mode: bool
    error: str | None = None


def litellm_converse(call: ChatCall) -> OracleAnswer:
    """LiteLLM's Converse body for the call (the parameters the gateway used to hand it, nothing else)."""
    wanted = {name: call.params[name] for name in MAPPED_PARAMS if call.params.get(name) is not None}
    model = call.route.model_id
    try:
        optional = _CONVERSE.map_openai_params(
            non_default_params=wanted, optional_params={}, model=model, drop_params=False
        )
        body = _CONVERSE._transform_request(
            model=model,
            messages=[dict(m) for m in call.messages],
            optional_params=optional,
            litellm_params={
                "model_info": {"supports_regex_lookaround": bedrock_model_supports_regex_lookaround(model)}
            },
            headers={},
        )
    except Exception as exc:  # any refusal counts as one
        return OracleAnswer(body=None, json_mode=False, error=f"{type(exc).__name__}: {exc}")
    return OracleAnswer(body=dict(body), json_mode=bool(optional.get("json_mode")))


def litellm_embedding_bodies(
    route: ModelRoute, inputs: list[str], dimensions: int | None
) -> list[dict[str, Any]]:
    """LiteLLM's InvokeModel bodies for an embedding call (Titan: one per input; Cohere: one batch)."""
    if "titan-embed" in route.model_id:
        params = {"dimensions": dimensions} if dimensions else {}
        return [
            dict(_TITAN_V2._transform_request(input=text, inference_params=dict(params))) for text in inputs
        ]
    return [dict(_COHERE._transform_request(model=route.model_id, input=inputs, inference_params={}))]
