"""API-key authentication: finding the key in a request and turning it into a caller identity.

`KeyIdentity` is what the rest of the request carries (limits and usage hang on `key_id`). The
`Authenticator` protocol is the seam: `StaticKeyAuthenticator` serves keys from settings (local runs); the
DynamoDB-backed implementation plugs in behind the same interface.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from pennyworth.errors import Unauthenticated

# Header names checked, in order: OpenAI SDK, Anthropic SDK, Azure-style clients.
_KEY_HEADERS = ("authorization", "x-api-key", "api-key")
_GENERIC_FAILURE = "Invalid API key provided."


@dataclass(frozen=True)
class KeyIdentity:
    """Who is calling: the public key id (never the secret) and what the key allows."""

    key_id: str
    name: str = ""
    allowed_models: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


class Authenticator(Protocol):
    async def authenticate(self, presented_key: str) -> KeyIdentity:
        """The identity behind `presented_key`; raises Unauthenticated when there is none."""
        ...


def extract_api_key(headers: Mapping[str, str]) -> str:
    """The key from `Authorization: Bearer`, `x-api-key` or `api-key`; Unauthenticated when absent."""
    for name in _KEY_HEADERS:
        value = headers.get(name)
        if not value:
            continue
        value = value.strip()
        if name == "authorization":
            scheme, _, token = value.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                continue
            value = token.strip()
        if value:
            return value
    raise Unauthenticated(
        "Missing API key. Send it as 'Authorization: Bearer <key>', 'x-api-key: <key>' or 'api-key: <key>'.",
        code="missing_api_key",
    )


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class StaticKeyAuthenticator:
    """Keys listed in settings (`PENNYWORTH_API_KEYS`), for local and development runs only.

    Only SHA-256 digests are kept in memory and compared in constant time.
    """

    def __init__(self, keys: Mapping[str, str]) -> None:
        """`keys` maps key id → full key."""
        self._by_digest = [(_digest(secret), key_id) for key_id, secret in keys.items()]

    @classmethod
    def from_setting(cls, value: str) -> StaticKeyAuthenticator:
        """Parse `key` or `key_id:key` items separated by commas."""
        keys: dict[str, str] = {}
        for index, item in enumerate(filter(None, (part.strip() for part in value.split(",")))):
            key_id, sep, secret = item.partition(":")
            keys[key_id if sep else f"static-{index}"] = secret if sep else item
        return cls(keys)

    async def authenticate(self, presented_key: str) -> KeyIdentity:
        presented = _digest(presented_key)
        match = None
        for digest, key_id in self._by_digest:  # no early exit: timing does not reveal which entry matched
            if hmac.compare_digest(digest, presented):
                match = key_id
        if match is None:
            raise Unauthenticated(_GENERIC_FAILURE)
        return KeyIdentity(key_id=match, name=match)
