"""Request bodies as JSON objects, parsed strictly, with a clear 400 naming what is wrong.

Every POST route reads its body here (`StrictJsonRoute`), before FastAPI validates it against the schema:
orjson parses it (fast, and it refuses what cannot be sent on: lone UTF-16 surrogates, NaN, nesting deeper
than 1024 levels). When it refuses, the slower standard parser runs once more only to say where: a string
with a lone surrogate or a number outside JSON is named by its path (`messages.0.content`). Integers beyond
the 64-bit range are refused too (400, never rounded to a float): orjson would read them as floats, so a body
with a run of 20 digits is re-read losslessly to find them. A body that is empty, not an object, not UTF-8
or sent with a non-JSON Content-Type is refused with what was expected.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import orjson
from fastapi import Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from pennyworth.errors import InvalidRequest

MAX_DEPTH = 1024  # orjson's own limit, stated here for the message
_INT_RANGE = (-(2**63), 2**64 - 1)  # what orjson writes back (signed and unsigned 64-bit)
# An integer literal beyond 64 bits has at least 20 digits: looked for in the body with digits mapped to "0"
# (bytes.translate and find run at memory speed; a regular expression is ten times slower here).
_DIGITS_AS_ZERO = bytes(ord("0") if 0x30 <= byte <= 0x39 else ord(".") for byte in range(256))
_TWENTY_DIGITS = b"0" * 20
_EXAMPLE = '{"model": "...", ...}'


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or InvalidRequest saying what is wrong and what is expected."""
    if not raw.strip():
        raise InvalidRequest(f"The request body is empty: send a JSON object such as {_EXAMPLE}.")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _diagnose(raw, exc) from None
    if not isinstance(value, dict):
        raise InvalidRequest(
            f"The request body is a JSON {_json_kind(value)}: send a JSON object such as {_EXAMPLE}."
        )
    if raw.translate(_DIGITS_AS_ZERO).find(_TWENTY_DIGITS) != -1:
        _refuse_huge_integers(raw)
    return value


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "boolean" if isinstance(value, bool) else "number"


def _diagnose(raw: bytes, exc: orjson.JSONDecodeError) -> InvalidRequest:
    """Why orjson refused the body, as precisely as the standard parser can tell."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return InvalidRequest(
            f"The request body is not valid UTF-8 (invalid byte at offset {bad.start}): send JSON encoded "
            "in UTF-8."
        )
    if "depth" in exc.msg or "recursion" in exc.msg:
        return InvalidRequest(f"The JSON body is nested more than {MAX_DEPTH} levels deep.")
    try:
        value = json.loads(text)
    except RecursionError:
        return InvalidRequest(f"The JSON body is nested more than {MAX_DEPTH} levels deep.")
    except json.JSONDecodeError as syntax:
        return InvalidRequest(
            f"We could not parse the JSON body of your request: {syntax.msg} at line {syntax.lineno}, "
            f"column {syntax.colno}. Send a JSON object such as {_EXAMPLE}."
        )
    for path, problem in _unsendable(value):
        return _invalid_at(path, problem)
    return InvalidRequest(f"We could not parse the JSON body of your request: {exc.msg}.")


def _refuse_huge_integers(raw: bytes) -> None:
    """Re-read a body that may hold an integer beyond 64 bits (the standard parser keeps it exact)."""
    try:
        exact = json.loads(raw)
    except RecursionError:
        raise InvalidRequest(
            f"The JSON body holds a 20-digit number and is nested too deep to check it: keep nesting under "
            f"{MAX_DEPTH // 2} levels."
        ) from None
    for path, value in _walk(exact):
        if type(value) is int and not _INT_RANGE[0] <= value <= _INT_RANGE[1]:
            raise _invalid_at(path, "integers beyond the 64-bit range are not supported")


def _unsendable(value: Any) -> Iterator[tuple[str, str]]:
    """(path, problem) for each value the standard parser accepted and orjson did not."""
    for path, item in _walk(value):
        if isinstance(item, str) and _has_lone_surrogate(item):
            yield path, "the string contains a lone UTF-16 surrogate (\\ud800-\\udfff), which is not Unicode"
        elif isinstance(item, float) and (item != item or item in (float("inf"), float("-inf"))):
            yield path, "NaN and Infinity are not JSON numbers"


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every key and value with its dotted path, depth first (iteratively: depth is not bounded here)."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        here, item = stack.pop()
        yield here, item
        if isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{here}.{key}" if here else str(key)
                yield here or "(body)", key
                stack.append((child_path, child))
        elif isinstance(item, list):
            stack.extend((f"{here}.{i}" if here else str(i), child) for i, child in enumerate(item))


def _invalid_at(path: str, problem: str) -> InvalidRequest:
    printable = path.encode("utf-8", "backslashreplace").decode()[:200]
    return InvalidRequest(f"Invalid value for '{printable}': {problem}.", param=printable or None)


def _is_json_content_type(value: str) -> bool:
    media = value.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class StrictJsonRequest(Request):
    """A request whose `json()` is `parse_json_object` over the body (FastAPI reads it through this)."""

    _parsed: dict[str, Any]

    async def json(self) -> dict[str, Any]:
        if not hasattr(self, "_parsed"):
            content_type = self.headers.get("content-type")
            if content_type is not None and not _is_json_content_type(content_type):
                shown = content_type.encode("ascii", "replace").decode()[:100]
                raise InvalidRequest(
                    f"Content-Type '{shown}' is not supported: send the body as JSON with "
                    "Content-Type: application/json."
                )
            self._parsed = parse_json_object(await self.body())
        return self._parsed


class StrictJsonRoute(APIRoute):
    """An APIRoute whose POST bodies are parsed by `StrictJsonRequest` before FastAPI's validation."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        reads_body = self.body_field is not None

        async def strict_handler(request: Request) -> Response:
            if not reads_body:
                return await handler(request)
            strict = StrictJsonRequest(request.scope, request.receive)
            await strict.json()  # refusals raise here, as our InvalidRequest (FastAPI would rewrap them)
            return await handler(strict)

        return strict_handler
