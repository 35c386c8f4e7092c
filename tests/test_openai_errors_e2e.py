"""Every failure in OpenAI's envelope with the right status — through raw HTTP and through the OpenAI SDK."""

from __future__ import annotations

import logging

import httpx
import openai
import pytest

from pennyworth.api.app import create_app
from tests.conftest import API_KEY
from tests.support.servers import serve_app

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def post(url: str, path: str, **kwargs) -> httpx.Response:
    headers = {**AUTH, **kwargs.pop("headers", {})}
    return httpx.post(f"{url}{path}", headers=headers, timeout=30, **kwargs)


def assert_envelope(response: httpx.Response, status: int, type_: str, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == type_
    assert error["message"] and "Traceback" not in error["message"]
    if code is not None:
        assert error["code"] == code
    return error


def chat(text: str, **extra) -> dict:
    return {"model": "nova-pro", "messages": [{"role": "user", "content": text}], **extra}


def test_malformed_json(gateway_url: str) -> None:
    response = post(
        gateway_url,
        "/v1/chat/completions",
        content=b'{"model": "nova-pro", "messages": [',
        headers={"Content-Type": "application/json"},
    )
    error = assert_envelope(response, 400, "invalid_request_error")
    assert "JSON" in error["message"]


def test_missing_field_is_named(gateway_url: str) -> None:
    error = assert_envelope(
        post(gateway_url, "/v1/chat/completions", json={"model": "nova-pro"}), 400, "invalid_request_error"
    )
    assert error["param"] == "messages"
    assert "messages" in error["message"]


def test_wrong_type_is_named(gateway_url: str) -> None:
    response = post(gateway_url, "/v1/chat/completions", json=chat("hi", temperature="hot"))
    error = assert_envelope(response, 400, "invalid_request_error")
    assert error["param"] == "temperature"


def test_bad_role_is_named(gateway_url: str) -> None:
    body = {"model": "nova-pro", "messages": [{"role": "wizard", "content": "hi"}]}
    error = assert_envelope(
        post(gateway_url, "/v1/chat/completions", json=body), 400, "invalid_request_error"
    )
    assert error["param"].startswith("messages.0")


def test_n_other_than_one(gateway_url: str) -> None:
    error = assert_envelope(
        post(gateway_url, "/v1/chat/completions", json=chat("hi", n=2)), 400, "invalid_request_error"
    )
    assert error["param"] == "n"
    assert "n=1" in error["message"]


def test_remote_image_url_refused(gateway_url: str, double) -> None:
    before = len(double.requests)
    body = {
        "model": "nova-pro",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "http://169.254.169.254/latest/meta-data"}}
                ],
            }
        ],
    }
    error = assert_envelope(
        post(gateway_url, "/v1/chat/completions", json=body), 400, "invalid_request_error"
    )
    assert error["param"] == "messages.0.content.0.image_url.url"
    assert "Remote image URLs" in error["message"]
    assert len(double.requests) == before  # nothing was sent upstream


def test_unsupported_image_type(gateway_url: str) -> None:
    body = {
        "model": "nova-pro",
        "messages": [
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "data:image/bmp;base64,Qk0="}}],
            }
        ],
    }
    assert_envelope(post(gateway_url, "/v1/chat/completions", json=body), 400, "invalid_request_error")


def test_unknown_model(gateway_url: str) -> None:
    error = assert_envelope(
        post(gateway_url, "/v1/chat/completions", json={**chat("hi"), "model": "gpt-9-ultra"}),
        404,
        "invalid_request_error",
        "model_not_found",
    )
    assert "gpt-9-ultra" in error["message"] and error["param"] == "model"


def test_embedding_model_for_chat_is_refused(gateway_url: str) -> None:
    response = post(gateway_url, "/v1/chat/completions", json={**chat("hi"), "model": "titan-embed-text-v2"})
    assert_envelope(response, 400, "invalid_request_error")


def test_capability_missing(gateway_url: str) -> None:
    response = post(gateway_url, "/v1/chat/completions", json=chat("hi", reasoning_effort="high"))
    error = assert_envelope(response, 400, "invalid_request_error")
    assert error["param"] == "reasoning_effort"


def test_unsupported_parameter_for_model_has_clean_message(gateway_url: str) -> None:
    body = {**chat("hi", temperature=0.2), "model": "claude-sonnet-5-5"}
    error = assert_envelope(
        post(gateway_url, "/v1/chat/completions", json=body), 400, "invalid_request_error"
    )
    assert "temperature" in error["message"]
    assert "litellm" not in error["message"].lower() and "drop_params" not in error["message"]


@pytest.mark.parametrize(
    ("exception", "status", "type_", "code"),
    [
        ("ThrottlingException", 429, "rate_limit_error", "rate_limit_exceeded"),
        ("ValidationException", 400, "invalid_request_error", None),
        ("AccessDeniedException", 403, "permission_error", "model_access_denied"),
        ("ModelErrorException", 502, "api_error", "model_error"),
        ("InternalServerException", 502, "api_error", "upstream_error"),
        ("ServiceUnavailableException", 503, "api_error", "service_unavailable"),
        ("ModelNotReadyException", 503, "api_error", "service_unavailable"),
        ("ModelTimeoutException", 504, "api_error", "upstream_timeout"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_bedrock_errors_map_to_status(
    gateway_url: str, exception: str, status: int, type_: str, code: str | None, stream: bool
) -> None:
    response = post(
        gateway_url, "/v1/chat/completions", json=chat(f"[[double:error={exception}]]", stream=stream)
    )
    error = assert_envelope(response, status, type_, code)
    if exception == "AccessDeniedException":  # Bedrock's text names the account and role: not for clients
        assert "Model access" in error["message"] and "123456789012" not in error["message"]
        assert "assumed-role" not in error["message"]
    else:
        assert "Injected" in error["message"]  # Bedrock's own message is passed on
    if exception == "ThrottlingException":
        assert int(response.headers["Retry-After"]) > 0


def test_throttling_through_the_sdk(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(
            model="nova-pro", messages=[{"role": "user", "content": "[[double:error=ThrottlingException]]"}]
        )
    assert caught.value.response.headers["retry-after"]


def test_upstream_timeout_is_504(make_settings, double) -> None:
    app = create_app(make_settings(upstream_timeout_seconds=0.3))
    with serve_app(app) as url:
        response = post(url, "/v1/chat/completions", json=chat("[[double:first_token_delay=2]] hi"))
        assert_envelope(response, 504, "api_error", "upstream_timeout")
        # Streamed, the stream has begun when the first event is late: the timeout ends it with an error event.
        with httpx.stream(
            "POST",
            f"{url}/v1/chat/completions",
            json=chat("[[double:first_token_delay=2]] hi", stream=True),
            headers=AUTH,
        ) as streamed:
            text = streamed.read().decode()
        assert '"code":"upstream_timeout"' in text


def test_unreachable_bedrock_is_503(make_settings, double) -> None:
    settings = make_settings().model_copy(update={"bedrock_endpoint_url": "http://127.0.0.1:9"})
    with serve_app(create_app(settings)) as url:
        assert_envelope(
            post(url, "/v1/chat/completions", json=chat("hi")), 503, "api_error", "service_unavailable"
        )


def test_wrong_aws_signature_is_not_a_client_error(make_settings, double, monkeypatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-the-double-knows")
    with serve_app(create_app(make_settings())) as url:
        error = assert_envelope(post(url, "/v1/chat/completions", json=chat("hi")), 502, "api_error")
    assert "signature" in error["message"]


def test_body_over_limit_is_413(make_settings, double) -> None:
    with serve_app(create_app(make_settings(max_body_bytes=2048))) as url:
        big = chat("x" * 4096)
        assert_envelope(
            post(url, "/v1/chat/completions", json=big), 413, "invalid_request_error", "request_too_large"
        )

        def chunked():
            yield b'{"model": "nova-pro", "messages": [{"role": "user", "content": "'
            for _ in range(8):
                yield b"y" * 512
            yield b'"}]}'

        response = post(
            url, "/v1/chat/completions", content=chunked(), headers={"Content-Type": "application/json"}
        )
        assert_envelope(response, 413, "invalid_request_error", "request_too_large")
        assert post(url, "/v1/chat/completions", json=chat("small")).status_code == 200


def test_unknown_route_and_method(gateway_url: str) -> None:
    assert_envelope(
        post(gateway_url, "/v1/completions-of-the-future", json={}),
        404,
        "invalid_request_error",
        "unknown_url",
    )
    response = httpx.get(f"{gateway_url}/v1/chat/completions", headers=AUTH)
    assert_envelope(response, 405, "invalid_request_error", "method_not_allowed")


def test_forced_tool_use_on_a_model_without_it(gateway_url: str) -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    body = {**chat("hi", tools=[tool], tool_choice="required"), "model": "claude-sonnet-5-5"}
    error = assert_envelope(
        post(gateway_url, "/v1/chat/completions", json=body), 400, "invalid_request_error"
    )
    assert "forced tool use" in error["message"] and "litellm" not in error["message"]


def test_access_denied_detail_is_logged_not_returned(gateway_url: str) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("pennyworth").addHandler(handler)
    try:
        response = post(
            gateway_url, "/v1/chat/completions", json=chat("[[double:error=AccessDeniedException]]")
        )
    finally:
        logging.getLogger("pennyworth").removeHandler(handler)
    error = assert_envelope(response, 403, "permission_error", "model_access_denied")
    assert "123456789012" not in response.text and "GatewayFunctionRole" not in response.text
    assert "logs" in error["message"]
    (logged,) = [r.getMessage() for r in records if "AccessDeniedException" in r.getMessage()]
    assert "arn:aws:sts::123456789012:assumed-role/pennyworth-GatewayFunctionRole" in logged
