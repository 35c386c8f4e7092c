"""Key format, hashing and the key store (DynamoDB through moto's server)."""

from __future__ import annotations

import re
import uuid

import pytest

from pennyworth.access.keys import KeyNotFound, KeyStore, key_digest, new_key, parse_key
from pennyworth.access.table import create_table, table
from pennyworth.settings import Settings


@pytest.fixture
def store(dynamodb: str) -> KeyStore:
    settings = Settings(AWS_ENDPOINT_URL_DYNAMODB=dynamodb, table_name=f"keys-{uuid.uuid4().hex[:8]}")
    assert create_table(settings) is True
    assert create_table(settings) is False  # idempotent
    return KeyStore(table(settings))


def test_key_format() -> None:
    key_id, key = new_key()
    assert re.fullmatch(r"pw-[0-9a-f]{12}-[A-Za-z0-9_-]{43}", key)  # 32 random bytes = 256 bits
    assert parse_key(key) == key_id
    assert new_key()[1] != key
    for bad in ("", "sk-abc", f"pw-{key_id}", "pw-XYZ-" + "a" * 43, key.replace("pw-", "pk-")):
        assert parse_key(bad) is None


def test_only_the_digest_is_stored(store: KeyStore) -> None:
    record, key = store.create({"name": "svc", "owner": "a@example.com", "rpm": 10})
    item = store._table.get_item(Key={"PK": f"KEY#{record.key_id}", "SK": "META"})["Item"]
    assert key not in str(item)
    assert key.split("-", 2)[2] not in str(item)
    assert item["key_hash"] == key_digest(key)
    assert record.matches(key) and not record.matches(key + "x")


def test_crud(store: KeyStore) -> None:
    record, _ = store.create(
        {
            "name": "a",
            "allowed_models": ("claude-*",),
            "budget_usd": 2.5,
            "budget_period": "daily",
            "tags": {"team": "x"},
        }
    )
    fetched = store.get(record.key_id)
    assert fetched == record
    assert [r.key_id for r in store.list()] == [record.key_id]
    updated = store.update(record.key_id, {"rpm": 5, "name": "b"})
    assert (updated.rpm, updated.name, updated.key_hash) == (5, "b", record.key_hash)
    assert store.revoke(record.key_id).status == "revoked"
    with pytest.raises(KeyNotFound):
        store.get("000000000000")
    with pytest.raises(KeyNotFound):
        store.update("000000000000", {"rpm": 1})


def test_rotation_keeps_id_and_settings(store: KeyStore) -> None:
    record, old = store.create({"name": "r", "tpm": 100})
    rotated, new = store.rotate(record.key_id)
    assert rotated.key_id == record.key_id and rotated.tpm == 100
    assert rotated.matches(new) and not rotated.matches(old)
