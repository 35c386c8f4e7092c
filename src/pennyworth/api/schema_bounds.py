"""Bounds on the JSON schemas a client sends (function `parameters`, structured-output `schema`), checked before
anything translates them.

Translation inlines every `$ref`: 18 chained `$defs` referenced twice each (1.8 KB) would expand to millions
of nodes, seconds of CPU and hundreds of MB. So the expansion is simulated first, the way it will be done
(a reference is inlined again wherever it appears; one already being inlined on the same path is left as it
is), counting nodes and depth and stopping at the first bound exceeded — at most `MAX_EXPANDED_NODES` steps,
whatever the schema.
"""

from __future__ import annotations

from typing import Any

from pennyworth.errors import InvalidRequest

MAX_EXPANDED_NODES = 10_000
MAX_DEPTH = 64
_REF_PREFIXES = ("#/$defs/", "#/definitions/")


def check_schema(schema: Any, param: str) -> None:
    """InvalidRequest when `schema`, with its `$ref`s inlined, exceeds the node or depth bound."""
    definitions = _definitions(schema)
    budget = MAX_EXPANDED_NODES
    # (node, depth, names of the definitions being inlined on this path)
    stack: list[tuple[Any, int, frozenset[str]]] = [(schema, 1, frozenset())]
    while stack:
        node, depth, inlining = stack.pop()
        budget -= 1
        if budget < 0:
            raise _too_large(param, f"more than {MAX_EXPANDED_NODES} nodes once its $refs are inlined")
        if depth > MAX_DEPTH:
            raise _too_large(param, f"nested more than {MAX_DEPTH} levels deep once its $refs are inlined")
        if isinstance(node, dict):
            name = _local_ref(node.get("$ref"))
            if name is not None and name in definitions and name not in inlining:
                stack.append((definitions[name], depth, inlining | {name}))
                continue
            stack.extend(
                (child, depth + 1, inlining)
                for key, child in node.items()
                if key not in ("$defs", "definitions")
            )
        elif isinstance(node, list):
            stack.extend((child, depth + 1, inlining) for child in node)


def _definitions(schema: Any) -> dict[str, Any]:
    """Every `$defs` / `definitions` entry in the schema, wherever it is declared (inner ones shadow)."""
    found: dict[str, Any] = {}
    stack = [schema]
    visited = 0
    while stack and visited <= MAX_EXPANDED_NODES:
        node = stack.pop()
        visited += 1
        if isinstance(node, dict):
            for key in ("$defs", "definitions"):
                if isinstance(node.get(key), dict):
                    found.update(node[key])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _local_ref(ref: Any) -> str | None:
    if isinstance(ref, str):
        for prefix in _REF_PREFIXES:
            if ref.startswith(prefix):
                return ref[len(prefix) :]
    return None


def _too_large(param: str, what: str) -> InvalidRequest:
    return InvalidRequest(
        f"The JSON schema in '{param}' is too large: {what}. Simplify it or reuse fewer definitions.",
        param=param,
        code="schema_too_large",
    )
