"""Whatever a client sends, the answer is a 4xx in the API's own envelope that names what is wrong — never a
500: bodies that are not JSON objects, strings with lone surrogates, integers beyond 64 bits, malformed
Responses items and Anthropic blocks, oversized model names. And a 500, should one happen, leaves the
keep-alive connection usable."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import API_KEY

AUTH = {"Authorization": f"Bearer {API_KEY}"}
HUGE = 2**70
ROUTES = {
    "/v1/chat/completions": {"model": "nova-pro", "messages": [{"role": "user", "content": "hi"}]},
    "/v1/embeddings": {"model": "titan-embed-text-v2", "input": "hi"},
    "/v1/responses": {"model": "nova-pro", "input": "hi"},
    "/v1/messages": {
        "model": "claude-sonnet-5-5",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}],
    },
    "/v1/messages/count_tokens": {
        "model": "claude-sonnet-5-5",
        "messages": [{"role": "user", "content": "hi"}],
    },
}
# Where each route's prompt text lives, to put a bad string there.
TEXT_FIELD = {
    "/v1/chat/completions": "messages.0.content",
    "/v1/embeddings": "input",
    "/v1/responses": "input",
    "/v1/messages": "messages.0.content",
    "/v1/messages/count_tokens": "messages.0.content",
}


def raw_post(client: httpx.Client, path: str, content: bytes, content_type: str = "application/json"):
    return client.post(path, content=content, headers={**AUTH, "Content-Type": content_type})


def error_of(response: httpx.Response, path: str, status: int = 400) -> dict[str, Any]:
    """The error object, after checking status and the envelope of the API that was called."""
    assert response.status_code == status, response.text
    body = response.json()
    if path.startswith("/v1/messages"):
        assert body["type"] == "error" and set(body["error"]) == {"type", "message"}
        assert body["error"]["type"] == "invalid_request_error"
        return {"message": body["error"]["message"], "param": None}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["type"] == "invalid_request_error"
    return body["error"]


def with_text(path: str, text_json: str) -> bytes:
    """The route's sample body with `text_json` (raw JSON text) in place of its prompt text."""
    body = dict(ROUTES[path])
    marker = "@@TEXT@@"
    if path == "/v1/embeddings" or path == "/v1/responses":
        body["input"] = marker
    else:
        body["messages"] = [{"role": "user", "content": marker}]
    import json

    return json.dumps(body).replace(f'"{marker}"', text_json).encode()


@pytest.fixture
def http(gateway_url: str):
    with httpx.Client(base_url=gateway_url, timeout=30) as client:
        yield client


@pytest.mark.parametrize("path", list(ROUTES))
def test_lone_surrogate_is_a_400_naming_the_field(http: httpx.Client, path: str) -> None:
    response = raw_post(http, path, with_text(path, '"hello \\ud800 world"'))
    error = error_of(response, path)
    assert "surrogate" in error["message"] and TEXT_FIELD[path] in error["message"]
    if error["param"] is not None:
        assert error["param"] == TEXT_FIELD[path]


@pytest.mark.parametrize("path", list(ROUTES))
def test_lone_surrogate_in_a_key_is_a_400(http: httpx.Client, path: str) -> None:
    body = with_text(path, '"hi"')[:-1] + b', "\\udc00": 1}'
    assert "surrogate" in error_of(raw_post(http, path, body), path)["message"]


@pytest.mark.parametrize(
    ("path", "field", "body"),
    [
        ("/v1/chat/completions", "max_tokens", {**ROUTES["/v1/chat/completions"], "max_tokens": HUGE}),
        ("/v1/chat/completions", "seed", {**ROUTES["/v1/chat/completions"], "seed": -HUGE}),
        ("/v1/responses", "max_output_tokens", {**ROUTES["/v1/responses"], "max_output_tokens": HUGE}),
        (
            "/v1/embeddings",
            "dimensions",
            {"model": "titan-embed-text-v2", "input": "hi", "dimensions": HUGE},
        ),
        ("/v1/messages", "max_tokens", {**ROUTES["/v1/messages"], "max_tokens": HUGE}),
        (
            "/v1/messages",
            "messages.1.content.0.input.n",
            {
                **ROUTES["/v1/messages"],
                "messages": [
                    {"role": "user", "content": "hi"},
                    {
                        "role": "assistant",
                        "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {"n": HUGE}}],
                    },
                    {
                        "role": "user",
                        "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "x"}],
                    },
                ],
            },
        ),
        (
            "/v1/messages/count_tokens",
            "tools.0.input_schema.maximum",
            {
                **ROUTES["/v1/messages/count_tokens"],
                "tools": [{"name": "f", "input_schema": {"type": "integer", "maximum": HUGE}}],
            },
        ),
    ],
)
def test_integer_beyond_64_bits_is_a_400_naming_the_field(
    http: httpx.Client, path: str, field: str, body: dict[str, Any]
) -> None:
    import json

    error = error_of(raw_post(http, path, json.dumps(body).encode()), path)
    assert field in error["message"] and "64-bit" in error["message"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_tokens", 1e30), ("max_completion_tokens", 2.0**65), ("seed", 1e300)],
)
def test_huge_float_for_an_integer_field_is_a_400(http: httpx.Client, field: str, value: float) -> None:
    response = http.post(
        "/v1/chat/completions", json={**ROUTES["/v1/chat/completions"], field: value}, headers=AUTH
    )
    assert error_of(response, "/v1/chat/completions")["param"] == field


BAD_RESPONSES_INPUTS = [
    ("tools", {"tools": [{"type": "function", "parameters": {}}]}, "tools.0.name"),
    ("tools", {"tools": [{"type": "function", "name": "a.b"}]}, "tools.0.name"),
    (
        "function_call",
        {"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]},
        "input.0.call_id",
    ),
    (
        "function_call_output",
        {"input": [{"type": "function_call_output", "output": "x"}]},
        "input.0.call_id",
    ),
    ("number content", {"input": [{"role": "user", "content": 42}]}, "input.0.content"),
    ("plain strings", {"input": [{"role": "user", "content": ["a", "b"]}]}, "input.0.content"),
    ("unknown item", {"input": [{"type": "wizardry"}]}, "input.0"),
]


@pytest.mark.parametrize(
    ("case", "extra", "param"), BAD_RESPONSES_INPUTS, ids=[c[0] for c in BAD_RESPONSES_INPUTS]
)
def test_bad_responses_items_are_400_naming_the_field(
    http: httpx.Client, case: str, extra: dict[str, Any], param: str
) -> None:
    body = {**ROUTES["/v1/responses"], **extra}
    error = error_of(http.post("/v1/responses", json=body, headers=AUTH), "/v1/responses")
    assert error["param"] is not None and error["param"].startswith(param), error


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
@pytest.mark.parametrize("where", ["system", "content", "tool"])
def test_cache_control_must_be_an_object(http: httpx.Client, path: str, where: str) -> None:
    body: dict[str, Any] = dict(ROUTES[path])
    block = {"type": "text", "text": "hi", "cache_control": "ephemeral"}
    if where == "system":
        body["system"] = [block]
    elif where == "content":
        body["messages"] = [{"role": "user", "content": [block]}]
    else:
        body["tools"] = [{"name": "f", "input_schema": {"type": "object"}, "cache_control": 5}]
    error = error_of(http.post(path, json=body, headers=AUTH), path)
    assert "cache_control" in error["message"]


@pytest.mark.parametrize("path", list(ROUTES))
@pytest.mark.parametrize(
    ("content", "content_type", "says"),
    [
        (b"", "application/json", "empty"),
        (b"[1, 2]", "application/json", "JSON array"),
        (b'"hello"', "application/json", "JSON string"),
        (b"42", "application/json", "JSON number"),
        (b"model=nova-pro", "application/x-www-form-urlencoded", "Content-Type"),
        (b"[" * 10_000 + b"]" * 10_000, "application/json", "nested"),
        (b'{"model": "nova-pro", "input": "\xff\xfe"}', "application/json", "UTF-8"),
        (b'{"model": "nova-pro",', "application/json", "line 1"),
    ],
    ids=["empty", "array", "string", "number", "form", "deep", "not-utf8", "truncated"],
)
def test_unusable_bodies_say_what_is_wrong(
    http: httpx.Client, path: str, content: bytes, content_type: str, says: str
) -> None:
    error = error_of(raw_post(http, path, content, content_type), path)
    assert says in error["message"], error["message"]
    if says not in ("Content-Type", "nested", "UTF-8"):
        assert "JSON object" in error["message"] or "JSON" in error["message"]


@pytest.mark.parametrize("path", list(ROUTES))
def test_model_name_is_bounded(http: httpx.Client, path: str) -> None:
    body = {**ROUTES[path], "model": "m" * 200_000}
    error = error_of(http.post(path, json=body, headers=AUTH), path)
    assert len(error["message"]) < 1000 and "model" in error["message"]


def schema_bomb(levels: int) -> dict[str, Any]:
    """`levels` chained definitions, each referencing the next twice: 2**levels nodes once inlined."""
    defs: dict[str, Any] = {
        f"d{i}": {
            "type": "object",
            "properties": {"a": {"$ref": f"#/$defs/d{i + 1}"}, "b": {"$ref": f"#/$defs/d{i + 1}"}},
        }
        for i in range(levels)
    }
    defs[f"d{levels}"] = {"type": "string"}
    return {"type": "object", "properties": {"x": {"$ref": "#/$defs/d0"}}, "$defs": defs}


def deep_schema(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"x": schema}}
    return schema


CHAT = ROUTES["/v1/chat/completions"]
SCHEMA_CASES = [
    (
        "/v1/chat/completions",
        {**CHAT, "tools": [{"type": "function", "function": {"name": "f", "parameters": schema_bomb(40)}}]},
        "tools.0.function.parameters",
    ),
    (
        "/v1/chat/completions",
        {
            **CHAT,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "r", "schema": schema_bomb(40)},
            },
        },
        "response_format.json_schema.schema",
    ),
    (
        "/v1/chat/completions",
        {**CHAT, "tools": [{"type": "function", "function": {"name": "f", "parameters": deep_schema(200)}}]},
        "tools.0.function.parameters",
    ),
    (
        "/v1/responses",
        {
            **ROUTES["/v1/responses"],
            "tools": [{"type": "function", "name": "f", "parameters": schema_bomb(40)}],
        },
        "tools.0.parameters",
    ),
    (
        "/v1/responses",
        {
            **ROUTES["/v1/responses"],
            "text": {"format": {"type": "json_schema", "name": "r", "schema": schema_bomb(40)}},
        },
        "text.format.schema",
    ),
]


@pytest.mark.parametrize(("path", "body", "param"), SCHEMA_CASES)
def test_exploding_json_schemas_are_refused(
    http: httpx.Client, path: str, body: dict[str, Any], param: str
) -> None:
    error = error_of(http.post(path, json=body, headers=AUTH), path)
    assert error["param"] == param and "too large" in error["message"]


def test_reasonable_schemas_with_refs_and_recursion_pass(http: httpx.Client) -> None:
    tree = {
        "type": "object",
        "properties": {"root": {"$ref": "#/$defs/node"}, "small": {"$ref": "#/$defs/leaf"}},
        "$defs": {
            "node": {
                "type": "object",
                "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
            },
            "leaf": schema_bomb(6),
        },
    }
    body = {**CHAT, "tools": [{"type": "function", "function": {"name": "f", "parameters": tree}}]}
    assert http.post("/v1/chat/completions", json=body, headers=AUTH).status_code == 200


def test_health_answers_while_a_heavy_request_is_translated(gateway_url: str) -> None:
    """Many large-but-allowed schemas keep translation busy; the event loop still serves /health meanwhile."""
    import threading

    heavy = {
        **CHAT,
        "tools": [
            {"type": "function", "function": {"name": f"f{i}", "parameters": schema_bomb(9)}}
            for i in range(16)
        ],
    }
    done = threading.Event()
    statuses: list[int] = []

    def send_heavy() -> None:
        with httpx.Client(base_url=gateway_url, timeout=120) as client:
            response = client.post("/v1/chat/completions", json=heavy, headers=AUTH)
            statuses.append(response.status_code)
            print(response.text[:500])
        done.set()

    worker = threading.Thread(target=send_heavy)
    worker.start()
    answered_during = 0
    with httpx.Client(base_url=gateway_url, timeout=120) as client:
        while not done.is_set():
            assert client.get("/health").status_code == 200
            answered_during += 1 if not done.is_set() else 0
    print("answered during", answered_during)
    worker.join()
    assert statuses == [200]
    assert answered_during > 3


def test_model_path_is_bounded_in_the_message(http: httpx.Client) -> None:
    response = http.get(f"/v1/models/{'m' * 20_000}", headers=AUTH)
    assert response.status_code == 404 and len(response.json()["error"]["message"]) < 1000
