"""DynamoDB's JSON protocol over aiohttp, for every call the gateway makes on the request path.

boto3 spends ~3 ms of CPU per call on this path (serialisation, signing, urllib3, parsing) and needs a worker
thread; this client costs a fraction of that, runs on the event loop, and answers within a deadline. Each
`call` is bounded by `deadline` seconds in total, retries included: throttling, 5xx, transaction conflicts,
connection errors and timeouts are retried with capped exponential backoff and jitter while time remains;
anything else fails at once with the service's error type. When no answer came in time, or every attempt
failed, `DynamoUnavailable` is raised: the caller decides what a missing control plane means.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any, cast

import aiohttp
import anyio
import orjson
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from pennyworth.aws.signed_http import NoCredentials, SignedHttp
from pennyworth.settings import Settings

_RETRYABLE = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
}
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


class DynamoError(Exception):
    """DynamoDB refused the call; `reasons` holds a cancelled transaction's per-item codes."""

    def __init__(self, error_type: str, message: str, reasons: tuple[str, ...] = ()) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.reasons = reasons


class DynamoUnavailable(DynamoError):
    """No answer within the deadline, or every attempt failed: DynamoDB cannot be reached right now."""


def attribute(value: Any) -> dict[str, Any]:
    """A Python value (int, str, bool, None, dict, list, Decimal) as a DynamoDB attribute value."""
    if isinstance(value, float):
        raise TypeError(f"unsupported attribute value {value!r}: use int or Decimal")
    return cast(dict[str, Any], _SERIALIZER.serialize(value))


def attributes(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: attribute(value) for name, value in values.items()}


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """An item as DynamoDB sends it, as Python values (numbers become int or Decimal)."""
    out: dict[str, Any] = {}
    for name, value in item.items():
        decoded = _DESERIALIZER.deserialize(value)
        if isinstance(decoded, Decimal) and decoded == decoded.to_integral_value():
            decoded = int(decoded)
        out[name] = decoded
    return out


def _cancellation_reasons(error: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(r.get("Code", "None")) for r in error.get("CancellationReasons") or ())


def _retryable(error_type: str, reasons: tuple[str, ...]) -> bool:
    if error_type == "TransactionCanceledException":  # only conflicts with other writers are worth a retry
        return "TransactionConflict" in reasons and set(reasons) <= {"TransactionConflict", "None"}
    return error_type in _RETRYABLE


class DynamoHttp:
    def __init__(self, settings: Settings, attempts: int = 5) -> None:
        endpoint = settings.dynamodb_endpoint_url or f"https://dynamodb.{settings.aws_region}.amazonaws.com"
        self._url = endpoint.rstrip("/") + "/"
        self._attempts = attempts
        self.deadline = settings.dynamodb_deadline_seconds
        per_attempt = max(self.deadline / 2, 0.1)
        self.http = SignedHttp(
            "dynamodb", settings.aws_region, aiohttp.ClientTimeout(total=per_attempt, connect=per_attempt), 64
        )

    async def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        """One DynamoDB operation (`GetItem`, `UpdateItem`, `TransactWriteItems`, ...) with its low-level
        request; the parsed answer. Raises DynamoError (refused) or DynamoUnavailable (no answer)."""
        body = orjson.dumps(request)
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"DynamoDB_20120810.{operation}",
        }
        failure = "no attempt was made"
        attempt = 0
        try:
            with anyio.fail_after(self.deadline):
                while True:
                    attempt += 1
                    try:
                        response = await self.http.post(self._url, body, headers)
                        async with response:
                            payload = await response.read()
                        answer: dict[str, Any] = orjson.loads(payload) if payload else {}
                        if response.status == 200:
                            return answer
                        error_type = (
                            str(answer.get("__type", "")).rsplit("#", 1)[-1] or f"HTTP{response.status}"
                        )
                        message = str(answer.get("message") or answer.get("Message") or "")
                        reasons = _cancellation_reasons(answer)
                        failure = f"{error_type}: {message}"
                        if response.status < 500 and not _retryable(error_type, reasons):
                            raise DynamoError(error_type, message, reasons)
                    except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError) as exc:
                        failure = f"{type(exc).__name__}: {exc}"
                    except NoCredentials as exc:  # nothing to retry: no call can be signed
                        raise DynamoUnavailable("NoCredentials", str(exc)) from exc
                    if attempt >= self._attempts:
                        break
                    await anyio.sleep(min(0.05 * 2**attempt, 1.0) * random.uniform(0.5, 1.0))
        except TimeoutError:
            failure = f"no answer within {self.deadline:g} s (last: {failure})"
        raise DynamoUnavailable("Unavailable", f"{operation} failed after {attempt} attempt(s): {failure}")

    def forget(self) -> None:
        self.http.forget()

    async def aclose(self) -> None:
        await self.http.aclose()
