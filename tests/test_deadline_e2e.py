"""The request deadline on all three APIs: a slow answer is cut before the function's time limit, ends the
API's normal way for an answer out of tokens, warns the client, and the ledger holds exactly what was relayed.

The double streams `w0 w1 ...` slowly (`chunk_delay`); the gateway's deadline is set short. No timing is
asserted: only that the answer is a well-formed, strict prefix of the full one, and what it says about itself.
"""

from __future__ import annotations

import time

import anthropic
import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionChunk

from pennyworth.access.keys import KeyStore
from pennyworth.access.table import table
from pennyworth.access.usage import UsageLedger, UsageRow
from pennyworth.api.app import create_app
from pennyworth.api.dependencies import deadline_for
from pennyworth.catalog import ModelRoute
from pennyworth.llm.providers.tokens import count_text_tokens
from pennyworth.settings import Settings
from tests.support.servers import serve_app

NOVA = ModelRoute(name="nova-pro", kind="chat", provider="bedrock", model_id="us.amazon.nova-pro-v1:0")
SONNET = ModelRoute(
    name="claude-sonnet-5-5", kind="chat", provider="bedrock", model_id="us.anthropic.claude-sonnet-5-5"
)
SLOW = "[[double:chunks=400]] [[double:chunk_delay=0.02]] tell me everything"
FULL = " ".join(f"w{i}" for i in range(400))


@pytest.fixture(scope="module")
def short(double, dynamodb, table_name):
    from tests.conftest import gateway_settings

    settings = gateway_settings(double, dynamodb, table_name, request_deadline_seconds=1.5)
    with serve_app(create_app(settings)) as url:
        yield url, KeyStore(table(settings)), UsageLedger(table(settings))


def fresh_key(store: KeyStore, name: str) -> tuple[str, str]:
    record, key = store.create({"name": name})
    return record.key_id, key


def one_row(ledger: UsageLedger, key_id: str) -> UsageRow:
    until = time.monotonic() + 10
    while not (rows := ledger.rows(key_id)) and time.monotonic() < until:
        time.sleep(0.05)
    assert len(rows) == 1, rows
    return rows[0]


def streamed_chat(url: str, key: str, prompt: str) -> list[ChatCompletionChunk]:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=30)
    return list(
        client.chat.completions.create(
            model="nova-pro",
            messages=[{"role": "user", "content": prompt}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )


def assert_partial(text: str) -> None:
    assert text and FULL.startswith(text.strip()) and len(text.split()) < 400


def test_chat_stream_is_cut_with_length_and_warning(short, double) -> None:
    url, store, ledger = short
    closed_before = double.disconnects
    _, key = fresh_key(store, "deadline chat stream")
    raw = httpx.post(
        f"{url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "model": "nova-pro",
            "messages": [{"role": "user", "content": SLOW}],
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        timeout=30,
    ).text
    assert ": warning: deadline:" in raw and raw.endswith("data: [DONE]\n\n")
    key_id, key = fresh_key(store, "deadline chat stream sdk")
    chunks = streamed_chat(url, key, SLOW)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert_partial(text)
    finish = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [c.choices[0].finish_reason for c in finish] == ["length"]
    assert (finish[0].model_extra or {})["warning"]["type"] == "deadline"
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens == count_text_tokens(NOVA, text)
    row = one_row(ledger, key_id)
    assert (row.requests, row.errors) == (1, 0)
    assert (row.prompt_tokens, row.completion_tokens) == (usage.prompt_tokens, usage.completion_tokens)
    until = time.monotonic() + 10  # the upstream stream was closed, not read to its end
    while double.disconnects < closed_before + 2 and time.monotonic() < until:
        time.sleep(0.05)
    assert double.disconnects >= closed_before + 2


def test_whole_chat_answer_returns_what_was_generated(short) -> None:
    url, store, ledger = short
    key_id, key = fresh_key(store, "deadline chat whole")
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=30)
    raw = client.chat.completions.with_raw_response.create(
        model="nova-pro", messages=[{"role": "user", "content": SLOW}]
    )
    reply = raw.parse()
    assert raw.headers["x-pennyworth-warning"].startswith("deadline; ")
    assert reply.choices[0].finish_reason == "length"
    assert_partial(reply.choices[0].message.content or "")
    row = one_row(ledger, key_id)
    assert reply.usage is not None
    assert (row.prompt_tokens, row.completion_tokens) == (
        reply.usage.prompt_tokens,
        reply.usage.completion_tokens,
    )
    assert row.completion_tokens == count_text_tokens(NOVA, reply.choices[0].message.content or "")


def test_responses_stream_ends_incomplete_with_warning(short) -> None:
    url, store, ledger = short
    key_id, key = fresh_key(store, "deadline responses")
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=30)
    events = list(client.responses.create(model="nova-pro", input=SLOW, stream=True))
    kinds = [e.type for e in events]
    assert kinds[-1] == "response.incomplete" and "response.completed" not in kinds
    assert "response.output_item.done" in kinds
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert_partial(text)
    final = events[-1].response
    assert final.status == "incomplete" and final.output[0].content[0].text == text
    assert (final.model_extra or {})["warning"]["type"] == "deadline"
    assert final.usage is not None and final.usage.output_tokens == count_text_tokens(NOVA, text)
    row = one_row(ledger, key_id)
    assert (row.prompt_tokens, row.completion_tokens) == (final.usage.input_tokens, final.usage.output_tokens)

    whole = client.responses.with_raw_response.create(model="nova-pro", input=SLOW)
    assert whole.headers["x-pennyworth-warning"].startswith("deadline; ")
    assert whole.parse().status == "incomplete"


def test_anthropic_stream_ends_with_max_tokens_and_warning(short) -> None:
    url, store, ledger = short
    key_id, key = fresh_key(store, "deadline messages")
    claude = anthropic.Anthropic(base_url=url, api_key=key, max_retries=0, timeout=30)
    with claude.messages.stream(
        model="claude-sonnet-5-5", max_tokens=1000, messages=[{"role": "user", "content": SLOW}]
    ) as stream:
        kinds = [event.type for event in stream]
        message = stream.get_final_message()
    assert kinds[-1] == "message_stop" and "content_block_stop" in kinds
    assert message.stop_reason == "max_tokens"
    text = message.content[0].text  # type: ignore[union-attr]
    assert_partial(text)
    row = one_row(ledger, key_id)
    assert row.completion_tokens == count_text_tokens(SONNET, text) == message.usage.output_tokens
    assert row.prompt_tokens > 0 and (row.requests, row.errors) == (1, 0)

    raw = httpx.post(
        f"{url}/v1/messages",
        headers={"x-api-key": key},
        json={
            "model": "claude-sonnet-5-5",
            "max_tokens": 1000,
            "stream": True,
            "messages": [{"role": "user", "content": SLOW}],
        },
        timeout=30,
    ).text
    assert ": warning: deadline:" in raw and '"warning":{"type":"deadline"' in raw

    whole = claude.messages.with_raw_response.create(
        model="claude-sonnet-5-5", max_tokens=1000, messages=[{"role": "user", "content": SLOW}]
    )
    assert whole.headers["x-pennyworth-warning"].startswith("deadline; ")
    answer = whole.parse()
    assert answer.stop_reason == "max_tokens"
    assert_partial(answer.content[0].text)  # type: ignore[union-attr]


def test_fast_answers_are_untouched(short) -> None:
    url, store, _ = short
    _, key = fresh_key(store, "deadline fast")
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=30)
    raw = client.chat.completions.with_raw_response.create(
        model="nova-pro", messages=[{"role": "user", "content": "[[double:chunks=5]]"}]
    )
    assert "x-pennyworth-warning" not in raw.headers
    assert raw.parse().choices[0].finish_reason == "stop"


def test_deadline_follows_the_lambda_context() -> None:
    settings = Settings(request_deadline_seconds=840, deadline_margin_seconds=30)
    wall, mono = 1_800_000_000.0, 100.0
    assert deadline_for(None, settings, wall, mono) == 940.0
    soon = f'{{"request_id": "r", "deadline": {int((wall + 120) * 1000)}}}'
    assert deadline_for(soon, settings, wall, mono) == pytest.approx(190.0)
    later = f'{{"deadline": {int((wall + 5000) * 1000)}}}'  # a forged header cannot extend the deadline
    assert deadline_for(later, settings, wall, mono) == 940.0
    assert deadline_for(f'{{"deadline_ms": {int((wall + 10) * 1000)}}}', settings, wall, mono) == mono
    for junk in ("not json", "[]", '{"deadline": "soon"}', '{"deadline": true}'):
        assert deadline_for(junk, settings, wall, mono) == 940.0
    assert deadline_for(None, settings, wall, mono, remaining_ms=60_000) == pytest.approx(130.0)  # Mangum


def test_deadline_before_the_first_token(short) -> None:
    url, store, ledger = short
    slow_start = "[[double:first_token_delay=4]] [[double:chunks=5]] hello"
    key_id, key = fresh_key(store, "deadline first token")
    chunks = streamed_chat(url, key, slow_start)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ""
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        "length"
    ]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 0
    row = one_row(ledger, key_id)
    assert (row.requests, row.errors, row.completion_tokens) == (1, 0, 0)

    _, key = fresh_key(store, "deadline first token claude")
    claude = anthropic.Anthropic(base_url=url, api_key=key, max_retries=0, timeout=30)
    with claude.messages.stream(
        model="claude-sonnet-5-5", max_tokens=100, messages=[{"role": "user", "content": slow_start}]
    ) as stream:
        kinds = [event.type for event in stream]
        message = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert message.stop_reason == "max_tokens" and message.content == []


def test_deadline_while_the_stream_is_opening(short) -> None:
    """Bedrock throttles and asks for 3 s; the deadline (1.5 s) comes first, during the retry wait: the answer
    is still a well-formed one cut by the deadline (never a bare end, never a plain `stop`)."""
    url, store, ledger = short
    key_id, key = fresh_key(store, "deadline opening")
    chunks = streamed_chat(url, key, "[[double:throttle_first=1]] [[double:retry_after=3]] opening streamed")
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        "length"
    ]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 0
    assert one_row(ledger, key_id).completion_tokens == 0
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=30)
    raw = client.chat.completions.with_raw_response.create(
        model="nova-pro",
        messages=[
            {"role": "user", "content": "[[double:throttle_first=1]] [[double:retry_after=3]] opening whole"}
        ],
    )
    assert raw.headers.get("x-pennyworth-warning", "").startswith("deadline; "), (raw.headers, raw.text)
    assert raw.parse().choices[0].finish_reason == "length"
