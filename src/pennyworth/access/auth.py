"""Authentication: finding the API key in a request and turning it into the caller's identity.

`extract_api_key` reads `Authorization: Bearer`, `x-api-key` or `api-key`. `KeyAuthenticator` checks the key
against its record in DynamoDB (one GetItem by key id, digest compared in constant time) and caches verified
records per Lambda instance for `key_cache_seconds`, so the common path costs no read; a revoked key stops
working within that bound. Unknown, malformed, revoked and expired keys all get the same generic 401; a key
that cannot be read because DynamoDB does not answer within its deadline gets a 503 (`service_unavailable`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Protocol

from pennyworth.access.keys import KeyIdentity, KeyNotFound, KeyReader, KeyRecord, parse_key
from pennyworth.aws.dynamodb import DynamoError
from pennyworth.errors import ServiceUnavailable, Unauthenticated
from pennyworth.observability import get_logger

logger = get_logger("access.auth")
_KEY_HEADERS = ("authorization", "x-api-key", "api-key")
_GENERIC_FAILURE = "Invalid API key provided."


class Authenticator(Protocol):
    async def authenticate(self, presented_key: str) -> KeyIdentity:
        """The identity behind `presented_key`; raises Unauthenticated when there is none."""
        ...


def extract_api_key(headers: Mapping[str, str]) -> str:
    """The key from `Authorization: Bearer`, `x-api-key` or `api-key`; Unauthenticated when absent."""
    for name in _KEY_HEADERS:
        value = (headers.get(name) or "").strip()
        if name == "authorization" and value:
            scheme, _, token = value.partition(" ")
            value = token.strip() if scheme.lower() == "bearer" else ""
        if value:
            return value
    raise Unauthenticated(
        "Missing API key. Send it as 'Authorization: Bearer <key>', 'x-api-key: <key>' or 'api-key: <key>'.",
        code="missing_api_key",
    )


class KeyAuthenticator:
    """Keys from the key store, with a bounded per-instance cache of verified records."""

    def __init__(self, store: KeyReader, cache_seconds: float) -> None:
        self._store = store
        self._ttl = cache_seconds
        self._cache: dict[str, tuple[float, KeyRecord]] = {}

    async def authenticate(self, presented_key: str) -> KeyIdentity:
        key_id = parse_key(presented_key)
        if key_id is None:
            raise Unauthenticated(_GENERIC_FAILURE)
        record = await self._record(key_id, fresh=False)
        if not record.matches(presented_key):  # perhaps rotated since it was cached: read once more
            record = await self._record(key_id, fresh=True)
        if not record.matches(presented_key) or record.status != "active" or record.is_expired():
            raise Unauthenticated(_GENERIC_FAILURE)
        return KeyIdentity.from_record(record)

    async def _record(self, key_id: str, *, fresh: bool) -> KeyRecord:
        cached = self._cache.get(key_id)
        if cached is not None and not fresh and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        try:
            record = await self._store.get(key_id)
        except KeyNotFound as exc:
            raise Unauthenticated(_GENERIC_FAILURE) from exc
        except DynamoError as exc:
            logger.error("key %s could not be read: %s", key_id, exc)
            raise ServiceUnavailable(
                "The gateway cannot verify API keys right now. Try again shortly.", retry_after=2
            ) from exc
        self._cache[key_id] = (time.monotonic(), record)
        return record
