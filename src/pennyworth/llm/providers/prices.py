"""Prices and model facts from LiteLLM's pinned price map: model kinds, known Bedrock ids, the cost of usage."""

from __future__ import annotations

from typing import Any

from pennyworth.catalog import ModelKind, ModelRoute
from pennyworth.llm.providers.litellm_setup import litellm
from pennyworth.llm.types import Usage


def bedrock_model_kind(model_id: str) -> ModelKind | None:
    """The kind LiteLLM's price map records for a Bedrock model id, or None when the map does not know it."""
    entry = litellm.model_cost.get(model_id)
    if not entry or not str(entry.get("litellm_provider", "")).startswith("bedrock"):
        return None
    mode = entry.get("mode")
    return mode if mode in ("chat", "embedding") else None


def known_bedrock_ids() -> frozenset[str]:
    """Every Bedrock id in the pinned price map (for checking the catalog against it)."""
    return frozenset(k for k in litellm.model_cost if bedrock_model_kind(k) is not None)


def cost_usd(route: ModelRoute, usage: Usage) -> float:
    """What `usage` costs on `route`: a price in models.yaml wins over LiteLLM's map; 0.0 when unpriced."""
    if route.input_cost_per_token is not None or route.output_cost_per_token is not None:
        return usage.prompt_tokens * (route.input_cost_per_token or 0.0) + usage.completion_tokens * (
            route.output_cost_per_token or 0.0
        )
    try:
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=route.model_id,
            custom_llm_provider=route.provider,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cache_read_input_tokens=usage.cache_read_tokens,
            cache_creation_input_tokens=usage.cache_write_tokens,
        )
    except Exception:  # an unpriced model must never fail a request
        return 0.0
    return float(prompt_cost + completion_cost) + _one_hour_write_premium(route.model_id, usage)


def _one_hour_write_premium(model_id: str, usage: Usage) -> float:
    """What one-hour cache writes cost beyond the five-minute write price they were counted at above."""
    if not usage.cache_write_1h_tokens:
        return 0.0
    entry = litellm.model_cost.get(model_id) or {}
    five_minutes = entry.get("cache_creation_input_token_cost")
    one_hour = entry.get("cache_creation_input_token_cost_above_1hr")
    if five_minutes is None or one_hour is None:
        return 0.0
    return usage.cache_write_1h_tokens * (float(one_hour) - float(five_minutes))


def token_prices(route: ModelRoute) -> tuple[float, float] | None:
    """(input, output) USD per token for `route`: models.yaml's price, else LiteLLM's map; None when unpriced."""
    if route.input_cost_per_token is not None or route.output_cost_per_token is not None:
        return route.input_cost_per_token or 0.0, route.output_cost_per_token or 0.0
    entry = _price_entry(route)
    if entry is None:
        return None
    prompt, completion = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
    if prompt is None and completion is None:
        return None
    return float(prompt or 0.0), float(completion or 0.0)


def max_output_tokens(route: ModelRoute) -> int | None:
    """The most a model may answer with, per LiteLLM's map (None when it does not say)."""
    entry = _price_entry(route)
    value = (entry or {}).get("max_output_tokens") or (entry or {}).get("max_tokens")
    return int(value) if value else None


def _price_entry(route: ModelRoute) -> dict[str, Any] | None:
    for name in (route.model_id, f"{route.provider}/{route.model_id}"):
        entry = litellm.model_cost.get(name)
        if entry:
            return dict(entry)
    return None
