"""Automatic prompt caching end to end: real SDKs → gateway → Bedrock double (which caches like Bedrock),
with usage, ledger and cost from what the double reported; off by setting and per key."""

from __future__ import annotations

import uuid
from typing import Any

import openai
import pytest

from pennyworth.access.keys import KeyStore
from pennyworth.access.table import table
from pennyworth.access.usage import UsageLedger
from pennyworth.api.app import create_app
from pennyworth.catalog import load_catalog
from pennyworth.llm.providers.prices import cost_usd
from pennyworth.llm.types import Usage
from pennyworth.settings import Settings
from pennyworth_dev.bedrock_double import BedrockDouble
from tests.conftest import API_KEY
from tests.support.servers import serve_app

SONNET = "claude-sonnet-5-5"
ROUTE = load_catalog(Settings()).resolve(SONNET)


def _system() -> str:
    return (
        f"You are a careful assistant {uuid.uuid4().hex}. " + "Follow the house style guide closely. " * 250
    )


def _points(body: dict[str, Any]) -> int:
    sections = [body.get("system") or [], (body.get("toolConfig") or {}).get("tools") or []]
    sections += [m["content"] for m in body["messages"]]
    return sum(1 for blocks in sections for block in blocks if "cachePoint" in block)


def _sent(double: BedrockDouble, marker: str) -> list[dict[str, Any]]:
    return [body for op, _, body in double.requests if op.startswith("converse") and marker in str(body)]


@pytest.fixture(scope="module")
def fresh(double, dynamodb, table_name):
    """Make a key (optionally without automatic caching) and read its ledger."""
    from tests.conftest import gateway_settings

    settings = gateway_settings(double, dynamodb, table_name)
    store, ledger = KeyStore(table(settings)), UsageLedger(table(settings))

    def make(**fields: Any) -> tuple[str, str]:
        record, key = store.create({"name": "caching", **fields})
        return record.key_id, key

    return make, ledger


def test_a_conversation_is_cached_and_the_next_turn_reads_it(
    gateway_url: str, double: BedrockDouble, fresh
) -> None:
    make, ledger = fresh
    key_id, key = make()
    client = openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=key, max_retries=0)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": _system()},
        {"role": "user", "content": "one"},
    ]
    first = client.chat.completions.create(model=SONNET, messages=messages)
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    messages += [
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "two"},
    ]
    second = client.chat.completions.create(model=SONNET, messages=messages)
    assert second.usage.prompt_tokens_details.cached_tokens > 1000
    assert second.usage.total_tokens == second.usage.prompt_tokens + second.usage.completion_tokens

    (row,) = [r for r in ledger.rows(key_id) if r.model == SONNET]
    assert row.prompt_tokens == first.usage.prompt_tokens + second.usage.prompt_tokens
    assert row.cached_tokens == second.usage.prompt_tokens_details.cached_tokens
    assert row.cache_write_tokens > 1000  # the first turn wrote the system prompt
    billed = Usage(row.prompt_tokens, row.completion_tokens, row.cached_tokens, row.cache_write_tokens)
    assert row.cost_usd == pytest.approx(cost_usd(ROUTE, billed), rel=1e-6)
    assert row.cost_usd < cost_usd(
        ROUTE, Usage(row.prompt_tokens, row.completion_tokens)
    )  # net of the writes


def test_responses_api_reports_cached_tokens(gateway_url: str) -> None:
    client = openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=API_KEY, max_retries=0)
    instructions = _system()
    first = client.responses.create(model=SONNET, instructions=instructions, input="one", store=False)
    assert first.usage.input_tokens_details.cached_tokens == 0
    history: list[Any] = [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": first.output_text},
        {"role": "user", "content": "two"},
    ]
    second = client.responses.create(model=SONNET, instructions=instructions, input=history, store=False)
    assert second.usage.input_tokens_details.cached_tokens > 1000


def test_short_prompts_get_no_cache_points(client: openai.OpenAI, double: BedrockDouble) -> None:
    marker = uuid.uuid4().hex
    client.chat.completions.create(model=SONNET, messages=[{"role": "user", "content": f"short {marker}"}])
    assert [_points(b) for b in _sent(double, marker)] == [0]


def test_prompt_cache_key_caches_the_newest_turn(client: openai.OpenAI, double: BedrockDouble) -> None:
    marker = uuid.uuid4().hex
    client.chat.completions.create(
        model=SONNET,
        messages=[{"role": "system", "content": _system()}, {"role": "user", "content": f"hi {marker}"}],
        extra_body={"prompt_cache_key": "conversation-1"},
    )
    (body,) = _sent(double, marker)
    assert "cachePoint" in body["messages"][-1]["content"][-1]


def test_what_the_client_marked_is_left_alone(client: openai.OpenAI, double: BedrockDouble) -> None:
    marker = uuid.uuid4().hex
    system = [{"type": "text", "text": _system(), "cache_control": {"type": "ephemeral"}}]
    messages: Any = [
        {"role": "system", "content": system},
        {"role": "user", "content": f"a {marker}"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
    ]
    client.chat.completions.create(model=SONNET, messages=messages)
    (body,) = _sent(double, marker)
    assert _points(body) == 1 and "cachePoint" in body["system"][-1]


def test_a_key_can_turn_automatic_caching_off(gateway_url: str, double: BedrockDouble, fresh) -> None:
    make, _ = fresh
    _, key = make(auto_cache_points=False)
    client = openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=key, max_retries=0)
    marker = uuid.uuid4().hex
    client.chat.completions.create(
        model=SONNET, messages=[{"role": "system", "content": _system()}, {"role": "user", "content": marker}]
    )
    assert [_points(b) for b in _sent(double, marker)] == [0]


def test_the_operator_can_turn_automatic_caching_off(make_settings, double: BedrockDouble) -> None:
    marker = uuid.uuid4().hex
    with serve_app(create_app(make_settings(auto_cache_points=False))) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=API_KEY, max_retries=0)
        client.chat.completions.create(
            model=SONNET,
            messages=[{"role": "system", "content": _system()}, {"role": "user", "content": marker}],
        )
    assert [_points(b) for b in _sent(double, marker)] == [0]


def test_one_hour_ttl_where_the_model_takes_it(make_settings, double: BedrockDouble) -> None:
    marker = uuid.uuid4().hex
    with serve_app(create_app(make_settings(cache_ttl="1h"))) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=API_KEY, max_retries=0)
        for model in (SONNET, "nova-pro"):  # Nova caches for five minutes only: Bedrock's default TTL
            client.chat.completions.create(
                model=model,
                messages=[{"role": "system", "content": _system()}, {"role": "user", "content": marker}],
            )
    sonnet, nova = _sent(double, marker)
    assert sonnet["system"][-1] == {"cachePoint": {"type": "default", "ttl": "1h"}}
    assert nova["system"][-1] == {"cachePoint": {"type": "default"}}


def test_claude_codes_own_cache_marks_are_written_then_read(gateway_url: str, fresh) -> None:
    import anthropic

    make, ledger = fresh
    key_id, key = make()
    client = anthropic.Anthropic(base_url=gateway_url, api_key=key, max_retries=0)
    system: Any = [{"type": "text", "text": _system(), "cache_control": {"type": "ephemeral"}}]
    usages = [
        client.messages.create(
            model=SONNET, max_tokens=64, system=system, messages=[{"role": "user", "content": text}]
        ).usage
        for text in ("one", "two")
    ]
    assert usages[0].cache_creation_input_tokens > 1000 and usages[0].cache_read_input_tokens == 0
    assert usages[1].cache_read_input_tokens == usages[0].cache_creation_input_tokens
    (row,) = [r for r in ledger.rows(key_id) if r.model == SONNET]
    assert (row.cache_write_tokens, row.cached_tokens) == (
        usages[0].cache_creation_input_tokens,
        usages[1].cache_read_input_tokens,
    )


def test_more_than_four_cache_marks_from_claude_code_are_bedrocks_400(gateway_url: str) -> None:
    import anthropic

    client = anthropic.Anthropic(base_url=gateway_url, api_key=API_KEY, max_retries=0)
    marked: Any = [
        {"type": "text", "text": f"part {i}", "cache_control": {"type": "ephemeral"}} for i in range(5)
    ]
    with pytest.raises(anthropic.BadRequestError, match="maximum of 4"):
        client.messages.create(
            model=SONNET, max_tokens=16, system=marked, messages=[{"role": "user", "content": "x"}]
        )
