"""What cached prompts cost: reads at the model's cache-read price, writes at its cache-write price, the rest
at the input price. Any price reader (LiteLLM's `cost_per_token` today, a direct price-map reader later)
must give these figures, taken from the model's published Bedrock prices."""

from __future__ import annotations

import pytest

from pennyworth.catalog import ModelRoute
from pennyworth.llm.providers.prices import cost_usd
from pennyworth.llm.types import Usage

SONNET_US = ModelRoute(
    name="claude-sonnet-5-5", kind="chat", provider="bedrock", model_id="us.anthropic.claude-sonnet-5-5"
)
SONNET_GLOBAL = ModelRoute(
    name="claude-sonnet-5-5", kind="chat", provider="bedrock", model_id="global.anthropic.claude-sonnet-5-5"
)
# us. profile, per token: input, cache read, cache write (5 minutes), output
INPUT, READ, WRITE, OUTPUT = 2.2e-6, 1.1e-7, 2.75e-6, 1.1e-5
WRITE_1H = 4.4e-6  # a cache write with a one-hour TTL


def test_cache_reads_and_writes_are_priced_apart_from_plain_input() -> None:
    usage = Usage(
        prompt_tokens=10_000, completion_tokens=100, cache_read_tokens=8_000, cache_write_tokens=1_000
    )
    expected = 1_000 * INPUT + 8_000 * READ + 1_000 * WRITE + 100 * OUTPUT
    assert cost_usd(SONNET_US, usage) == pytest.approx(expected)


def test_a_cache_write_costs_more_than_plain_input_and_a_read_far_less() -> None:
    plain = cost_usd(SONNET_US, Usage(prompt_tokens=1_000))
    written = cost_usd(SONNET_US, Usage(prompt_tokens=1_000, cache_write_tokens=1_000))
    read = cost_usd(SONNET_US, Usage(prompt_tokens=1_000, cache_read_tokens=1_000))
    assert written == pytest.approx(plain * 1.25) and read == pytest.approx(plain / 20)


def test_the_route_that_answered_sets_the_price() -> None:
    usage = Usage(prompt_tokens=1_000, completion_tokens=10)
    assert cost_usd(SONNET_GLOBAL, usage) == pytest.approx(1_000 * 2.0e-6 + 10 * 1.0e-5)


def test_one_hour_cache_writes_cost_the_one_hour_price() -> None:
    usage = Usage(prompt_tokens=1_000, cache_write_tokens=1_000, cache_write_1h_tokens=400)
    assert cost_usd(SONNET_US, usage) == pytest.approx(600 * WRITE + 400 * WRITE_1H)


def test_converse_usage_reads_the_writes_by_ttl() -> None:
    from pennyworth.llm.bedrock.converse import converse_usage

    usage = converse_usage(
        {
            "inputTokens": 5,
            "outputTokens": 1,
            "cacheWriteInputTokens": 1_400,
            "cacheDetails": [{"ttl": "1h", "inputTokens": 1_100}, {"ttl": "5m", "inputTokens": 300}],
        }
    )
    assert (usage.prompt_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens) == (
        1_405,
        1_400,
        1_100,
    )
