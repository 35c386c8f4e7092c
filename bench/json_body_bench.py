"""What the strict body parser (`pennyworth.api.json_body`) costs next to the parser FastAPI would use.

    .venv/bin/python bench/json_body_bench.py

Three bodies: a small chat request, a 1.2 MB conversation and a 5.3 MB inline image. Best of three rounds.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from typing import Any

import orjson

from pennyworth.api.json_body import parse_json_object


def best_of_three(parse: Callable[[bytes], Any], body: bytes, rounds: int) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(rounds):
            parse(body)
        best = min(best, (time.perf_counter() - started) / rounds)
    return best * 1e6


def main() -> None:
    image = base64.b64encode(os.urandom(4_000_000)).decode()
    bodies = {
        "small": {"model": "nova-pro", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 100},
        "conversation": {
            "model": "nova-pro",
            "messages": [{"role": "user", "content": "hello world " * 50} for _ in range(2000)],
        },
        "image": {
            "model": "nova-pro",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image}"}}
                    ],
                }
            ],
        },
    }
    for name, value in bodies.items():
        body = orjson.dumps(value)
        rounds = 20 if len(body) > 1000 else 20_000
        ours = best_of_three(parse_json_object, body, rounds)
        stdlib = best_of_three(json.loads, body, rounds)
        print(f"{name} ({len(body)} bytes): parse_json_object {ours:.1f} us, json.loads {stdlib:.1f} us")


if __name__ == "__main__":
    main()
