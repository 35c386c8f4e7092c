"""The Bedrock runtime wire: signed calls (`aws_http`), event-stream decoding, Bedrock errors → ours.

The endpoint is `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` when set. Streams are decoded with botocore's event-stream
parser (prelude and message CRCs checked).
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

import aiohttp
import anyio
import orjson
from botocore.eventstream import EventStreamBuffer, ParserError

from pennyworth.aws.signed_http import NoCredentials, SignedHttp
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
from pennyworth.llm.types import DeadlineReached
from pennyworth.observability import get_logger
from pennyworth.settings import Settings

logger = get_logger("llm.bedrock")
DEFAULT_RETRY_AFTER_SECONDS = 2
_PROFILE_PREFIXES = {
    "us",
    "eu",
    "apac",
    "au",
    "jp",
    "global",
    "us-gov",
    "ca",
}  # cross-region inference profiles


class BedrockThrottled(RateLimited):
    """Bedrock refused for a quota (`ThrottlingException`, `ServiceQuotaExceededException`): worth another try."""


class BedrockUnavailable(UpstreamUnavailable):
    """Bedrock said it is unavailable (`ServiceUnavailableException`, `ModelNotReadyException`)."""


_EXCEPTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}")


def bedrock_error(error_type: str, message: str, retry_after: str | None = None) -> GatewayError:
    """Our error for a Bedrock exception name (either `ThrottlingException` or `throttlingException`)."""
    name = error_type.split(":", 1)[0].strip()
    name = name[:1].upper() + name[1:]
    error = _error_for(name, message, retry_after)
    error.upstream = name if _EXCEPTION_NAME.fullmatch(name) else "Unknown"  # logged: an identifier only
    return error


def _error_for(name: str, message: str, retry_after: str | None) -> GatewayError:
    if name in ("ThrottlingException", "ServiceQuotaExceededException"):
        seconds = int(retry_after) if retry_after and retry_after.isdigit() else DEFAULT_RETRY_AFTER_SECONDS
        return BedrockThrottled(f"Bedrock is throttling requests: {message}", retry_after=seconds)
    if name == "ValidationException":
        return InvalidRequest(message)
    if name == "AccessDeniedException":
        # Bedrock's text names the AWS account, the gateway's role and its session: for the operator only.
        logger.warning("Bedrock AccessDeniedException: %s", message)
        return PermissionDenied(
            "Bedrock denied the gateway access to this model. The model may not be enabled for the gateway's "
            "AWS account and region (Bedrock console → Model access), or the gateway's role may lack permission "
            "to invoke it; the operator finds the detail in the gateway's logs.",
            code="model_access_denied",
        )
    if name == "ResourceNotFoundException":
        return NotFound(f"Bedrock does not know this model: {message}", param="model")
    if name in ("ServiceUnavailableException", "ModelNotReadyException"):
        seconds = int(retry_after) if retry_after and retry_after.isdigit() else DEFAULT_RETRY_AFTER_SECONDS
        return BedrockUnavailable(f"Bedrock is unavailable: {message}", retry_after=seconds)
    if name == "ModelTimeoutException":
        return UpstreamTimeout(f"The model timed out: {message}")
    if name in ("ModelErrorException", "ModelStreamErrorException"):
        return UpstreamError(f"The model failed: {message}", code="model_error")
    return UpstreamError(f"Bedrock error ({name or 'unknown'}): {message}")


def _error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> GatewayError:
    try:
        parsed = orjson.loads(body) if body else {}
        message = parsed.get("message") or parsed.get("Message") or ""
    except (orjson.JSONDecodeError, AttributeError):
        message = body[:200].decode(errors="replace")
    error_type = headers.get("x-amzn-errortype", "")
    if not error_type:
        by_status = {400: "ValidationException", 403: "AccessDeniedException", 429: "ThrottlingException"}
        error_type = by_status.get(
            status, "ServiceUnavailableException" if status >= 500 else "UnknownException"
        )
    return bedrock_error(error_type, message or f"HTTP {status}", headers.get("retry-after"))


class EventStream:
    """An open ConverseStream response: yields (event type, payload dict) until the stream ends."""

    def __init__(self, chunks: AsyncIterator[bytes], close: Callable[[], None]) -> None:
        self._chunks = chunks
        self._close = close

    async def events(self, deadline: float | None = None) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """The stream's events; at `deadline` (a `time.monotonic()` instant) they stop: `DeadlineReached`.

        The deadline bounds each network read (a cancel scope) and is checked again before each event a read
        carried (a clock read): a slow consumer cannot relay a large read's events past it."""
        buffer = EventStreamBuffer()
        loads = orjson.loads
        until = float("inf") if deadline is None else deadline
        clock = time.monotonic
        try:
            while (data := await _read_before(self._chunks, deadline)) is not None:
                buffer.add_data(data)
                messages: Iterable[Any] = buffer  # botocore-stubs type its items as int
                for message in messages:
                    if clock() >= until:
                        raise DeadlineReached
                    headers: dict[str, Any] = message.headers
                    if headers.get(":message-type") != "event":
                        raise bedrock_error(
                            headers.get(":exception-type")
                            or headers.get(":error-code")
                            or "InternalServerException",
                            _payload_message(message.payload),
                        )
                    yield headers[":event-type"], loads(message.payload)
        except TimeoutError as exc:
            raise UpstreamTimeout("Bedrock stopped sending before the answer was complete.") from exc
        except (aiohttp.ClientError, ParserError) as exc:
            raise UpstreamError(f"The Bedrock stream broke off: {type(exc).__name__}") from exc

    async def aclose(self) -> None:
        self._close()


async def _read_before(chunks: AsyncIterator[bytes], deadline: float | None) -> bytes | None:
    """The next network read (None at the end), unless `deadline` comes first: then `DeadlineReached`.

    One cancel scope per read rather than per event: when the gateway is the slower side a read carries many
    events, and a scope costs more than the rest of an event's path (bench/deadline_bench.py)."""
    if deadline is None:
        return await anext(chunks, None)
    left = deadline - time.monotonic()
    if left > 0:
        with anyio.move_on_after(left):
            return await anext(chunks, None)
    raise DeadlineReached


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
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=settings.upstream_connect_timeout_seconds,
            sock_read=settings.upstream_timeout_seconds,
        )
        self.http = SignedHttp("bedrock", settings.aws_region, timeout)

    async def _post(self, path: str, body: bytes, accept: str) -> aiohttp.ClientResponse:
        """POST a signed request; a non-200 answer is read and raised as our error."""
        headers = {"Content-Type": "application/json", "Accept": accept}
        try:
            response = await self.http.post(f"{self._endpoint}{path}", body, headers)
        except NoCredentials as exc:
            raise UpstreamUnavailable("The gateway has no AWS credentials to call Bedrock with.") from exc
        except TimeoutError as exc:
            raise UpstreamTimeout("Bedrock did not answer in time.") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(f"Could not reach Bedrock: {type(exc).__name__}") from exc
        if response.status != 200:
            try:
                payload = await response.read()
            finally:
                response.release()
            raise _error_from_response(response.status, response.headers, payload)
        return response

    async def _json(self, path: str, body: bytes) -> tuple[dict[str, Any], Mapping[str, str]]:
        response = await self._post(path, body, "application/json")
        try:
            payload = await response.read()
        except TimeoutError as exc:
            raise UpstreamTimeout("Bedrock did not finish its answer in time.") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"Bedrock's answer broke off: {type(exc).__name__}") from exc
        finally:
            response.release()
        return orjson.loads(payload), response.headers

    async def converse(self, model_id: str, body: bytes) -> dict[str, Any]:
        answer, _ = await self._json(f"/model/{quote(model_id, safe='')}/converse", body)
        return answer

    async def converse_stream(self, model_id: str, body: bytes) -> EventStream:
        """Open the stream; Bedrock's errors before the first event raise here, with their HTTP status."""
        path = f"/model/{quote(model_id, safe='')}/converse-stream"
        response = await self._post(path, body, "application/vnd.amazon.eventstream")
        return EventStream(response.content.iter_any(), response.close)

    async def invoke_stream(self, model_id: str, body: bytes) -> EventStream:
        """InvokeModelWithResponseStream: `chunk` events whose payload carries the model's own event, base64."""
        path = f"/model/{quote(model_id, safe='')}/invoke-with-response-stream"
        response = await self._post(path, body, "application/vnd.amazon.eventstream")
        return EventStream(response.content.iter_any(), response.close)

    async def count_tokens(self, model_id: str, invoke_body: bytes) -> int:
        """CountTokens for an InvokeModel body (Bedrock wants the base model id, not an inference profile)."""
        base_id = model_id.split(".", 1)[1] if model_id.split(".", 1)[0] in _PROFILE_PREFIXES else model_id
        body = orjson.dumps({"input": {"invokeModel": {"body": base64.b64encode(invoke_body).decode()}}})
        answer, _ = await self._json(f"/model/{quote(base_id, safe='')}/count-tokens", body)
        return int(answer["inputTokens"])

    async def invoke(self, model_id: str, body: bytes) -> tuple[dict[str, Any], int | None]:
        """InvokeModel: the response body, and the input token count Bedrock reports in a header."""
        answer, headers = await self._json(f"/model/{quote(model_id, safe='')}/invoke", body)
        tokens = headers.get("x-amzn-bedrock-input-token-count")
        return answer, int(tokens) if tokens and tokens.isdigit() else None

    def forget_connections(self) -> None:
        """After a SnapStart restore: new sessions and credentials on next use."""
        self.http.forget()

    async def aclose(self) -> None:
        await self.http.aclose()
