"""Prices read from LiteLLM's map file agree with LiteLLM's own arithmetic, cached tokens and tiers included."""

from __future__ import annotations

import litellm
import pytest

from pennyworth.catalog import ModelRoute
from pennyworth.llm.providers.prices import cost_usd, price_map_path
from pennyworth.llm.types import Usage

MODELS = [
    "us.anthropic.claude-sonnet-5-5",
    "us.anthropic.claude-haiku-5-5",  # priced in tiers above 100k prompt tokens
    "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "us.amazon.nova-pro-v1:0",
    "us.meta.llama3-3-70b-instruct-v1:0",
    "amazon.titan-embed-text-v2:0",
]
USAGES = [
    Usage(1000, 200),
    Usage(5000, 100, cache_read_tokens=3000, cache_write_tokens=1000),
    Usage(250_000, 1000, cache_read_tokens=100_000),
    Usage(150_000, 10, cache_write_tokens=20_000),
]


@pytest.mark.parametrize("model_id", MODELS)
@pytest.mark.parametrize("usage", USAGES, ids=str)
def test_cost_matches_litellm(model_id: str, usage: Usage) -> None:
    route = ModelRoute(name=model_id, kind="chat", provider="bedrock", model_id=model_id)
    prompt, completion = litellm.cost_per_token(
        model=model_id,
        custom_llm_provider="bedrock",
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cache_read_input_tokens=usage.cache_read_tokens,
        cache_creation_input_tokens=usage.cache_write_tokens,
    )
    assert cost_usd(route, usage) == pytest.approx(prompt + completion, rel=1e-9, abs=1e-15)


def test_cached_tokens_are_cheaper_than_fresh_ones() -> None:
    route = ModelRoute(name="s", kind="chat", provider="bedrock", model_id="us.anthropic.claude-sonnet-5-5")
    assert cost_usd(route, Usage(1000, 0, cache_read_tokens=1000)) < cost_usd(route, Usage(1000, 0))


def test_the_map_is_found_without_importing_litellm_and_ships_in_the_package() -> None:
    path = price_map_path()
    assert path.is_file() and path.parent.name == "litellm"


def test_an_unpriced_model_costs_nothing() -> None:
    route = ModelRoute(name="x", kind="chat", provider="bedrock", model_id="not.a-model")
    assert cost_usd(route, Usage(10, 10)) == 0.0
