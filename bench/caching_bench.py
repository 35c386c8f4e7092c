"""Caching benchmark: what a 20-turn agent conversation costs in input, with and without automatic cache points.

Replays one agent session — a long system prompt, four tools, and twenty turns that each add a tool call and
its output (the context grows every turn, as with Codex) — through the Responses API and through Chat
Completions, against the Bedrock double (which caches like Bedrock: same prefix, same model, within the TTL,
at least the model's minimum). Each replay runs twice on one gateway: with a key whose automatic cache points
are off, and with one where they are on (the default). The billed input cost comes from the usage ledger the
gateway (`pennyworth serve`, its own process) wrote — prompt tokens, cache reads and cache writes — priced
at the model's real Bedrock prices.
Token counts are the double's (words), so the ratio is the figure to read, not the absolute dollars.

    make bench ARGS=--caching      # or: .venv/bin/python bench/caching_bench.py [--turns 20] [--model ...]
"""

from __future__ import annotations

import argparse
import random
import uuid
from collections.abc import Iterator
from typing import Any

import httpx

from bench_servers import pennyworth_server, start_server
from gateway_bench import base_env, create_key_table
from pennyworth_dev.bedrock_double import BedrockDouble
from pennyworth_dev.dynamodb import LocalDynamoDB

WORDS = ["the", "a", "file", "function", "returns", "value", "error", "test", "module", "import", "path"]
TOOLS = ("shell", "read_file", "apply_patch", "search")
# (label, automatic cache points on for the key, the client names the session with `prompt_cache_key`)
MODES = (("off", False, False), ("automatic", True, False), ("auto + key", True, True))


def _text(words: int, seed: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _tool_schema(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"{name}: " + _text(200, hash(name) % 1000),
        "parameters": {
            "type": "object",
            "properties": {"command": {"type": "string"}},
            "required": ["command"],
        },
    }


def _session(turns: int, run: str) -> tuple[str, list[tuple[str, str, str]]]:
    """The system prompt (unique per run, so runs never share a cache) and each turn's (call id, tool, output)."""
    system = f"Session {run}. You are a coding agent. " + _text(3000, 1)
    steps = [(f"call_{i:02d}", TOOLS[i % len(TOOLS)], _text(600, 100 + i)) for i in range(turns)]
    return system, steps


def responses_requests(model: str, turns: int, run: str, cache_key: bool = False) -> Iterator[dict[str, Any]]:
    """What Codex sends each turn (with `prompt_cache_key` naming the session when `cache_key`)."""
    system, steps = _session(turns, run)
    named = {"prompt_cache_key": run} if cache_key else {}
    tools = [{"type": "function", **_tool_schema(name)} for name in TOOLS]
    items: list[dict[str, Any]] = [{"role": "user", "content": "Fix the failing test in the repository."}]
    for call_id, tool, output in steps:
        yield {
            "model": model,
            "instructions": system,
            "input": list(items),
            "tools": tools,
            "store": False,
            **named,
        }
        items.append(
            {"type": "function_call", "call_id": call_id, "name": tool, "arguments": '{"command":"ls"}'}
        )
        items.append({"type": "function_call_output", "call_id": call_id, "output": output})


def chat_requests(model: str, turns: int, run: str, cache_key: bool = False) -> Iterator[dict[str, Any]]:
    system, steps = _session(turns, run)
    named = {"prompt_cache_key": run} if cache_key else {}
    tools = [{"type": "function", "function": _tool_schema(name)} for name in TOOLS]
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": system},
        {"role": "user", "content": "Fix the failing test in the repository."},
    ]
    for call_id, tool, output in steps:
        yield {"model": model, "messages": list(messages), "tools": tools, **named}
        call = {
            "id": call_id,
            "type": "function",
            "function": {"name": tool, "arguments": '{"command":"ls"}'},
        }
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        messages.append({"role": "tool", "tool_call_id": call_id, "content": output})


def replay(url: str, key: str, path: str, requests: Iterator[dict[str, Any]]) -> None:
    with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {key}"}) as client:
        for body in requests:
            response = client.post(f"{url}{path}", json=body)
            response.raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--model", default="claude-sonnet-5-5")
    args = parser.parse_args()
    with BedrockDouble() as double, LocalDynamoDB() as dynamodb:
        env = base_env(double.url, dynamodb)
        create_key_table(env)  # also points this process's settings at the double and the local table
        from pennyworth.access.keys import KeyStore
        from pennyworth.access.table import table
        from pennyworth.access.usage import UsageLedger
        from pennyworth.catalog import load_catalog
        from pennyworth.llm.providers.prices import cost_usd
        from pennyworth.llm.types import Usage
        from pennyworth.settings import Settings

        settings = Settings()
        store, ledger = KeyStore(table(settings)), UsageLedger(table(settings))
        route = load_catalog(settings).resolve(args.model)
        results = []
        gateway, url, _ = start_server(pennyworth_server(env))  # `pennyworth serve` in its own process
        try:
            for api, path, build in (
                ("Responses API", "/v1/responses", responses_requests),
                ("Chat Completions", "/v1/chat/completions", chat_requests),
            ):
                for label, caching, named in MODES:
                    record, key = store.create({"name": "bench", "auto_cache_points": caching})
                    replay(url, key, path, build(args.model, args.turns, uuid.uuid4().hex, named))
                    (row,) = ledger.rows(record.key_id)
                    billed = Usage(row.prompt_tokens, 0, row.cached_tokens, row.cache_write_tokens)
                    results.append((api, label, row, cost_usd(route, billed)))
        finally:
            gateway.terminate()
            gateway.wait()
    report(args, route.model_id, results)


def report(args: argparse.Namespace, model_id: str, results: list[tuple[str, str, Any, float]]) -> None:
    print(f"{args.turns}-turn agent session, {args.model} ({model_id}), Bedrock double, ledger figures")
    print(f"{'api':<18}{'cache points':<14}{'prompt tok':>11}{'read':>9}{'written':>9}{'input cost $':>14}")
    for api, label, row, cost in results:
        print(
            f"{api:<18}{label:<14}{row.prompt_tokens:>11}{row.cached_tokens:>9}"
            f"{row.cache_write_tokens:>9}{cost:>14.4f}"
        )
    for api in ("Responses API", "Chat Completions"):
        costs = {label: cost for name, label, _, cost in results if name == api}
        saved = ", ".join(f"{1 - costs[label] / costs['off']:.0%} ({label})" for label in list(costs)[1:])
        print(f"{api}: input cost saved, net of cache writes: {saved}")


if __name__ == "__main__":
    main()
