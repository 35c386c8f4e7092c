"""The Bedrock runtime wire: SigV4-signed HTTP calls, event-stream decoding, Bedrock errors → ours.

One keep-alive HTTP client per event loop. Requests are signed with botocore's SigV4 signer using the
standard AWS credential chain; the endpoint is `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` when set. Streams are
decoded with botocore's event-stream parser (prelude and message CRCs checked).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import botocore.session
import httpx
import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.eventstream import EventStreamBuffer, ParserError

from pennyworth.errors import (
    GatewayError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from pennyworth.settings import Settings

DEFAULT_RETRY_AFTER_SECONDS = 2


def bedrock_error(error_type: str, message: str, retry_after: str | None = None) -> GatewayError:
    """Our error for a Bedrock exception name (either `ThrottlingException` or `throttlingException`)."""
    name = error_type.split(":", 1)[0].strip()
    name = name[:1].upper() + name[1:]
    if name in ("ThrottlingException", "ServiceQuotaExceededException"):
        seconds = int(retry_after) if retry_after and retry_after.isdigit() else DEFAULT_RETRY_AFTER_SECONDS
        return RateLimited(f"Bedrock is throttling requests: {message}", retry_after=seconds)
    if name == "ValidationException":
        return InvalidRequest(message)
    if name == "AccessDeniedException":
        return PermissionDenied(
            f"Bedrock denied access to this model: {message}. The model may not be enabled for this AWS account "
            "and region (Bedrock console → Model access), or the gateway's role lacks bedrock:InvokeModel on it.",
            code="model_access_denied",
        )
    if name == "ResourceNotFoundException":
        return NotFound(f"Bedrock does not know this model: {message}", param="model")
    if name in ("ServiceUnavailableException", "ModelNotReadyException"):
        return UpstreamUnavailable(
            f"Bedrock is unavailable: {message}", retry_after=DEFAULT_RETRY_AFTER_SECONDS
        )
    if name == "ModelTimeoutException":
        return UpstreamTimeout(f"The model timed out: {message}")
    if name in ("ModelErrorException", "ModelStreamErrorException"):
        return UpstreamError(f"The model failed: {message}", code="model_error")
    return UpstreamError(f"Bedrock error ({name or 'unknown'}): {message}")


def _error_from_response(response: httpx.Response, body: bytes) -> GatewayError:
    try:
        parsed = orjson.loads(body) if body else {}
        message = parsed.get("message") or parsed.get("Message") or ""
    except (orjson.JSONDecodeError, AttributeError):
        message = body[:200].decode(errors="replace")
    error_type = response.headers.get("x-amzn-errortype", "")
    if not error_type:
        by_status = {400: "ValidationException", 403: "AccessDeniedException", 429: "ThrottlingException"}
        error_type = by_status.get(response.status_code, "ServiceUnavailableException")
        if response.status_code < 500 and response.status_code not in by_status:
            error_type = "UnknownException"
    return bedrock_error(
        error_type, message or f"HTTP {response.status_code}", response.headers.get("retry-after")
    )


class EventStream:
    """An open ConverseStream response: yields (event type, payload dict) until the stream ends."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    async def events(self) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        buffer = EventStreamBuffer()
        try:
            async for data in self._response.aiter_raw():
                buffer.add_data(data)
                for message in buffer:
                    headers = message.headers
                    if headers.get(":message-type") != "event":
                        raise bedrock_error(
                            headers.get(":exception-type")
                            or headers.get(":error-code")
                            or "InternalServerException",
                            _payload_message(message.payload),
                        )
                    yield headers[":event-type"], orjson.loads(message.payload)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout("Bedrock stopped sending before the answer was complete.") from exc
        except (httpx.TransportError, ParserError) as exc:
            raise UpstreamError(f"The Bedrock stream broke off: {type(exc).__name__}") from exc

    async def aclose(self) -> None:
        await self._response.aclose()


def _payload_message(payload: bytes) -> str:
    try:
        return str(orjson.loads(payload).get("message", ""))
    except (orjson.JSONDecodeError, AttributeError):
        return payload[:200].decode(errors="replace")


class BedrockRuntime:
    """Signed calls to the Bedrock runtime API (Converse, ConverseStream, InvokeModel)."""

    def __init__(self, settings: Settings) -> None:
        self._region = settings.aws_region
        self._endpoint = (
            settings.bedrock_endpoint_url or f"https://bedrock-runtime.{settings.aws_region}.amazonaws.com"
        ).rstrip("/")
        self._timeout = httpx.Timeout(
            settings.upstream_timeout_seconds, connect=settings.upstream_connect_timeout_seconds
        )
        self._credentials: Any = None
        self._clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
            client = httpx.AsyncClient(timeout=self._timeout, limits=limits)
            self._clients[loop] = client
        return client

    def _signed_request(self, path: str, body: bytes, accept: str) -> httpx.Request:
        if self._credentials is None:
            self._credentials = botocore.session.Session().get_credentials()
        if self._credentials is None:
            raise UpstreamUnavailable("The gateway has no AWS credentials to call Bedrock with.")
        url = f"{self._endpoint}{path}"
        aws_request = AWSRequest(
            method="POST", url=url, data=body, headers={"Content-Type": "application/json", "Accept": accept}
        )
        SigV4Auth(self._credentials.get_frozen_credentials(), "bedrock", self._region).add_auth(aws_request)
        return self._client().build_request(
            "POST", url, content=body, headers=dict(aws_request.headers.items())
        )

    async def _send(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        try:
            response = await self._client().send(request, stream=stream)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout("Bedrock did not answer in time.") from exc
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(f"Could not reach Bedrock: {type(exc).__name__}") from exc
        if response.status_code != 200:
            body = await response.aread()
            await response.aclose()
            raise _error_from_response(response, body)
        return response

    async def converse(self, model_id: str, body: bytes) -> dict[str, Any]:
        request = self._signed_request(
            f"/model/{quote(model_id, safe='')}/converse", body, "application/json"
        )
        response = await self._send(request, stream=False)
        return orjson.loads(response.content)

    async def converse_stream(self, model_id: str, body: bytes) -> EventStream:
        """Open the stream; Bedrock's errors before the first event raise here, with their HTTP status."""
        path = f"/model/{quote(model_id, safe='')}/converse-stream"
        request = self._signed_request(path, body, "application/vnd.amazon.eventstream")
        return EventStream(await self._send(request, stream=True))

    async def invoke(self, model_id: str, body: bytes) -> tuple[dict[str, Any], int | None]:
        """InvokeModel: the response body, and the input token count Bedrock reports in a header."""
        request = self._signed_request(f"/model/{quote(model_id, safe='')}/invoke", body, "application/json")
        response = await self._send(request, stream=False)
        tokens = response.headers.get("x-amzn-bedrock-input-token-count")
        return orjson.loads(response.content), int(tokens) if tokens and tokens.isdigit() else None

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
