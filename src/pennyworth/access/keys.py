"""API keys: their format, their hashing, and the key records in DynamoDB.

A key is `pw-<key id>-<secret>`: the `pw-` prefix so people and secret scanners recognise it, a public key
id (12 lowercase hex characters, shown in logs, usage and the CLI) and 256 bits from `secrets`, URL-safe.
Only a SHA-256 digest of the whole key is stored. A plain (unsalted, fast) hash is enough here: the secret is
256 bits of uniform randomness, so there is nothing to guess or to precompute a table for — slow password
hashes exist for low-entropy human secrets. The record is found in one GetItem by its id: by the gateway
over its async client (`KeyReader`), by the CLI over boto3 (`KeyStore`). Changes to a record write only the
changed attributes (UpdateItem under a condition), so concurrent updates never undo each other or a revocation.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from fnmatch import fnmatchcase
from typing import Any, Literal

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from pennyworth.access.table import KEY_PREFIX, KEY_RECORD_SK, key_record_key
from pennyworth.aws.dynamodb import DynamoHttp, attributes, plain

BudgetPeriod = Literal["daily", "monthly", "total"]
KeyStatus = Literal["active", "revoked"]
_KEY_FORMAT = re.compile(r"^pw-([0-9a-f]{12})-([A-Za-z0-9_-]{43,})$")


class KeyNotFound(LookupError):
    pass


class KeyRevoked(LookupError):
    """The change was refused because the key is revoked (rotation)."""


def key_digest(full_key: str) -> str:
    return hashlib.sha256(full_key.encode()).hexdigest()


def new_key() -> tuple[str, str]:
    """A fresh (key id, full key)."""
    key_id = secrets.token_hex(6)
    return key_id, f"pw-{key_id}-{secrets.token_urlsafe(32)}"


def parse_key(full_key: str) -> str | None:
    """The key id of a well-formed key, else None."""
    match = _KEY_FORMAT.match(full_key)
    return match.group(1) if match else None


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class KeyRecord:
    """Everything stored about a key except its secret (only `key_hash`, the digest, is kept)."""

    key_id: str
    key_hash: str
    name: str
    owner: str = ""
    created: str = ""
    expires: str | None = None
    status: KeyStatus = "active"
    allowed_models: tuple[str, ...] = ()
    rpm: int | None = None
    tpm: int | None = None
    budget_usd: float | None = None
    budget_period: BudgetPeriod = "monthly"
    max_concurrency: int | None = None
    max_tokens: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    auto_cache_points: bool = True  # False: no automatic prompt cache points for this key

    def matches(self, full_key: str) -> bool:
        return hmac.compare_digest(self.key_hash, key_digest(full_key))

    def is_expired(self, at: datetime | None = None) -> bool:
        return self.expires is not None and datetime.fromisoformat(self.expires) <= (at or now())

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = key_record_key(self.key_id)
        for name, value in asdict(self).items():
            if value is None or value == () or value == {}:
                continue
            if isinstance(value, float):
                value = Decimal(str(value))
            item[name] = list(value) if isinstance(value, tuple) else value
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> KeyRecord:
        def number(name: str, kind: type) -> Any:
            return kind(item[name]) if item.get(name) is not None else None

        return cls(
            key_id=item["key_id"],
            key_hash=item["key_hash"],
            name=item.get("name", ""),
            owner=item.get("owner", ""),
            created=item.get("created", ""),
            expires=item.get("expires"),
            status=item.get("status", "active"),
            allowed_models=tuple(item.get("allowed_models") or ()),
            rpm=number("rpm", int),
            tpm=number("tpm", int),
            budget_usd=number("budget_usd", float),
            budget_period=item.get("budget_period", "monthly"),
            max_concurrency=number("max_concurrency", int),
            max_tokens=number("max_tokens", int),
            tags=dict(item.get("tags") or {}),
            auto_cache_points=bool(item.get("auto_cache_points", True)),
        )


class KeyStore:
    """Key records in the table (a boto3 `Table`); used by the CLI directly and by the app in a thread."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def create(
        self, record_fields: dict[str, Any], full_key: tuple[str, str] | None = None
    ) -> tuple[KeyRecord, str]:
        """Store a new key; returns its record and the full key (the only time the secret exists)."""
        key_id, key = full_key or new_key()
        record = KeyRecord(
            key_id=key_id, key_hash=key_digest(key), created=now().isoformat(), **record_fields
        )
        self._table.put_item(Item=record.to_item(), ConditionExpression=Attr("PK").not_exists())
        return record, key

    def get(self, key_id: str, consistent: bool = False) -> KeyRecord:
        item = self._table.get_item(Key=key_record_key(key_id), ConsistentRead=consistent).get("Item")
        if item is None:
            raise KeyNotFound(key_id)
        return KeyRecord.from_item(item)

    def list(self) -> list[KeyRecord]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "FilterExpression": Attr("SK").eq(KEY_RECORD_SK) & Attr("PK").begins_with(KEY_PREFIX)
        }
        while True:
            page = self._table.scan(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted((KeyRecord.from_item(i) for i in items), key=lambda r: r.created)

    def _update(self, key_id: str, changes: dict[str, Any], condition: Any) -> KeyRecord:
        """Write only `changes` (None, () and {} remove the attribute), if `condition` holds on the record."""
        stored = KeyRecord(**{"key_id": key_id, "key_hash": "", "name": "", **changes}).to_item()
        names = {f"#{name}": name for name in changes}
        sets = [f"#{name} = :{name}" for name in changes if name in stored]
        removes = [f"#{name}" for name in changes if name not in stored]
        expression = " ".join(
            part
            for part in (sets and "SET " + ", ".join(sets), removes and "REMOVE " + ", ".join(removes))
            if part
        )
        values = {f":{name}": stored[name] for name in changes if name in stored}
        try:
            answer = self._table.update_item(
                Key=key_record_key(key_id),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ReturnValues="ALL_NEW",
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                record = self.get(key_id, consistent=True)  # raises KeyNotFound when there is none
                raise KeyRevoked(record.key_id) from exc
            raise
        return KeyRecord.from_item(answer["Attributes"])

    def update(self, key_id: str, changes: dict[str, Any]) -> KeyRecord:
        """Change some settings of an existing key (revoked or not); other attributes are left as they are."""
        if not changes:
            return self.get(key_id, consistent=True)
        return self._update(key_id, changes, Attr("PK").exists())

    def revoke(self, key_id: str) -> KeyRecord:
        return self._update(key_id, {"status": "revoked"}, Attr("PK").exists())

    def rotate(self, key_id: str) -> tuple[KeyRecord, str]:
        """A new secret for the same id and settings; the old key stops working. Revoked keys stay revoked."""
        key = f"pw-{key_id}-{secrets.token_urlsafe(32)}"
        condition = Attr("PK").exists() & Attr("status").eq("active")
        return self._update(key_id, {"key_hash": key_digest(key)}, condition), key


class KeyReader:
    """The gateway's read of a key record: one GetItem over the async client, within its deadline."""

    def __init__(self, dynamo: DynamoHttp, table_name: str) -> None:
        self._dynamo = dynamo
        self._table = table_name

    async def get(self, key_id: str) -> KeyRecord:
        answer = await self._dynamo.call(
            "GetItem", {"TableName": self._table, "Key": attributes(key_record_key(key_id))}
        )
        if "Item" not in answer:
            raise KeyNotFound(key_id)
        return KeyRecord.from_item(plain(answer["Item"]))


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
    max_concurrency: int | None = None
    max_tokens: int | None = None
    auto_cache_points: bool = True

    def allows(self, model: str, *, in_catalog: bool = True) -> bool:
        """Whether the key's allow-list (empty = all) admits `model`. Names and globs match catalog names and
        aliases; a raw provider id outside the catalog is admitted only when the list names it exactly."""
        if not self.allowed_models:
            return True
        if not in_catalog:
            return model in self.allowed_models
        return any(fnmatchcase(model, pattern) for pattern in self.allowed_models)

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
            max_concurrency=record.max_concurrency,
            max_tokens=record.max_tokens,
            auto_cache_points=record.auto_cache_points,
        )
