"""Authentication: finding the API key in a request and turning it into the caller's identity.

`extract_api_key` reads `Authorization: Bearer`, `x-api-key` or `api-key`. `KeyAuthenticator` checks the key
against its record in DynamoDB (one GetItem by key id, digest compared in constant time) and caches verified
records per Lambda instance for `key_cache_seconds`, so the common path costs no read; a revoked key stops
working within that bound. Unknown, malformed, revoked and expired keys all get the same generic 401.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Protocol

from pennyworth.errors import Unauthenticated
from pennyworth.keys import KeyNotFound, KeyRecord, KeyStore, parse_key

_KEY_HEADERS = ("authorization", "x-api-key", "api-key")
_GENERIC_FAILURE = "Invalid API key provided."


@dataclass(frozen=True)
class KeyIdentity:
    """Who is calling and what the key allows; `key_id` is what logs and usage carry (never the secret)."""

    key_id: str
    name: str = ""
    allowed_models: tuple[str, ...] = ()
    rpm: int | None = None
    tpm: int | None = None
    budget_usd: float | None = None
    budget_period: str = "monthly"

    def allows(self, model: str) -> bool:
        """Whether the key's model allow-list (names or globs; empty = all) admits `model`."""
        return not self.allowed_models or any(fnmatchcase(model, pattern) for pattern in self.allowed_models)

    @classmethod
    def from_record(cls, record: KeyRecord) -> KeyIdentity:
        return cls(
            key_id=record.key_id,
            name=record.name,
            allowed_models=record.allowed_models,
            rpm=record.rpm,
            tpm=record.tpm,
            budget_usd=record.budget_usd,
            budget_period=record.budget_period,
        )


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

    def __init__(self, store: KeyStore, cache_seconds: float) -> None:
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
            record = await asyncio.to_thread(self._store.get, key_id)
        except KeyNotFound as exc:
            raise Unauthenticated(_GENERIC_FAILURE) from exc
        self._cache[key_id] = (time.monotonic(), record)
        return record
