"""Prices and model facts from LiteLLM's pinned price map, read as a JSON file (LiteLLM itself is not imported).

The map ships inside the litellm package (`model_prices_and_context_window_backup.json`); its path is found
with `importlib.util.find_spec`, which locates a package without running it. Loaded once (at start-up, by the
catalog's raw-id lookup) and kept slim: per model only the fields read here.
"""

from __future__ import annotations

import importlib.util
import re
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from pennyworth.catalog import ModelKind, ModelRoute
from pennyworth.llm.types import Usage

PRICE_MAP_FILE = "model_prices_and_context_window_backup.json"
_TIERED = re.compile(r"^(?P<base>[a-z0-9_]+?)_above_(?P<count>\d+)k_tokens$")
_KEPT = (
    "litellm_provider",
    "mode",
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
    "cache_creation_input_token_cost_above_1hr",
    "max_output_tokens",
    "max_tokens",
)


def price_map_path() -> Path:
    """Where the pinned litellm package keeps its price map (without importing litellm)."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The litellm package (which ships the price map) is not installed.")
    return Path(next(iter(spec.submodule_search_locations))) / PRICE_MAP_FILE


@cache
def price_map() -> dict[str, dict[str, Any]]:
    """model id → the facts kept from the map (prices, per-tier prices, provider, mode)."""
    raw: dict[str, Any] = orjson.loads(price_map_path().read_bytes())
    slim: dict[str, dict[str, Any]] = {}
    for model, entry in raw.items():
        if isinstance(entry, dict):
            slim[model] = {k: v for k, v in entry.items() if k in _KEPT or _TIERED.match(k)}
    return slim


def bedrock_model_kind(model_id: str) -> ModelKind | None:
    """The kind the price map records for a Bedrock model id, or None when the map does not know it."""
    entry = price_map().get(model_id)
    if not entry or not str(entry.get("litellm_provider", "")).startswith("bedrock"):
        return None
    mode = entry.get("mode")
    if mode == "chat":
        return "chat"
    if mode == "embedding":
        return "embedding"
    return None


def known_bedrock_ids() -> frozenset[str]:
    """Every Bedrock id in the pinned price map (for checking the catalog against it)."""
    return frozenset(k for k in price_map() if bedrock_model_kind(k) is not None)


def cost_usd(route: ModelRoute, usage: Usage) -> float:
    """What `usage` costs on `route`: a price in models.yaml wins over the map; 0.0 when unpriced.

    Cache reads and writes are priced at the map's cache rates (input rate when it has none), one-hour writes
    at the one-hour write rate; above a tier's prompt size (`..._above_200k_tokens`), that tier's rates apply
    to the whole call.
    """
    if route.input_cost_per_token is not None or route.output_cost_per_token is not None:
        return usage.prompt_tokens * (route.input_cost_per_token or 0.0) + usage.completion_tokens * (
            route.output_cost_per_token or 0.0
        )
    entry = _entry_for(route)
    if entry is None:
        return 0.0
    rates = _rates_for(entry, usage.prompt_tokens)
    input_rate = rates.get("input_cost_per_token") or 0.0
    read_rate = rates.get("cache_read_input_token_cost", input_rate)
    write_rate = rates.get("cache_creation_input_token_cost", input_rate)
    write_1h_rate = rates.get("cache_creation_input_token_cost_above_1hr", write_rate)
    uncached = max(usage.prompt_tokens - usage.cache_read_tokens - usage.cache_write_tokens, 0)
    writes_5m = max(usage.cache_write_tokens - usage.cache_write_1h_tokens, 0)
    return float(
        uncached * input_rate
        + usage.cache_read_tokens * (read_rate or 0.0)
        + writes_5m * (write_rate or 0.0)
        + usage.cache_write_1h_tokens * (write_1h_rate or 0.0)
        + usage.completion_tokens * (rates.get("output_cost_per_token") or 0.0)
    )


def _entry_for(route: ModelRoute) -> dict[str, Any] | None:
    prices = price_map()
    for key in (route.model_id, f"{route.provider}/{route.model_id}"):
        entry = prices.get(key)
        if entry is not None and "input_cost_per_token" in entry:
            return entry
    return None


def _rates_for(entry: dict[str, Any], prompt_tokens: int) -> dict[str, Any]:
    """The entry's base rates, overridden by the highest tier whose threshold the prompt exceeds."""
    rates = {k: v for k, v in entry.items() if k in _KEPT}
    tiers: dict[int, dict[str, Any]] = {}
    for key, value in entry.items():
        match = _TIERED.match(key)
        if match:
            tiers.setdefault(int(match["count"]) * 1000, {})[match["base"]] = value
    for threshold in sorted(tiers):
        if prompt_tokens > threshold:
            rates.update(tiers[threshold])
    return rates


def token_prices(route: ModelRoute) -> tuple[float, float] | None:
    """(input, output) USD per token for `route`: models.yaml's price, else the map's; None when unpriced."""
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
    """The most a model may answer with, per the map (None when it does not say)."""
    entry = _price_entry(route)
    value = (entry or {}).get("max_output_tokens") or (entry or {}).get("max_tokens")
    return int(value) if value else None


def _price_entry(route: ModelRoute) -> dict[str, Any] | None:
    for name in (route.model_id, f"{route.provider}/{route.model_id}"):
        entry = price_map().get(name)
        if entry:
            return entry
    return None
