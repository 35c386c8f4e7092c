"""The DynamoDB table: its layout (one table, see docs/design-keys.md) and an idempotent `create`.

| item                 | PK             | SK                        | TTL (`expires_at`)       |
|----------------------|----------------|---------------------------|--------------------------|
| API key              | `KEY#<id>`     | `META`                    | —                        |
| rate window (1 min)  | `KEY#<id>`     | `RATE#<minute epoch>`     | window end + 1 h         |
| spend in a period    | `KEY#<id>`     | `SPEND#<period id>`       | period end + 35 days     |
| in-flight leases     | `KEY#<id>`     | `LEASES`                  | —                        |
| usage ledger         | `USAGE#<id>`   | `<yyyy-mm-dd>#<model>`    | —                        |
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from pennyworth.settings import Settings

TTL_ATTRIBUTE = "expires_at"
NANO = 1_000_000_000  # costs are stored as integer nano-dollars: exact sums, no float drift in ADDs
KEY_PREFIX = "KEY#"
USAGE_PREFIX = "USAGE#"
KEY_RECORD_SK = "META"


def key_record_key(key_id: str) -> dict[str, str]:
    """The primary key of an API key's record."""
    return {"PK": f"{KEY_PREFIX}{key_id}", "SK": KEY_RECORD_SK}


def rate_window_key(key_id: str, window: int) -> dict[str, str]:
    """The primary key of a key's one-minute rate window."""
    return {"PK": f"{KEY_PREFIX}{key_id}", "SK": f"RATE#{window}"}


def spend_key(key_id: str, period_id: str) -> dict[str, str]:
    """The primary key of a key's spend in one budget period."""
    return {"PK": f"{KEY_PREFIX}{key_id}", "SK": f"SPEND#{period_id}"}


def leases_key(key_id: str) -> dict[str, str]:
    """The primary key of the item holding a key's in-flight request leases (a map: lease id → expiry)."""
    return {"PK": f"{KEY_PREFIX}{key_id}", "SK": "LEASES"}


def usage_partition(key_id: str) -> str:
    """The partition holding a key's usage ledger."""
    return f"{USAGE_PREFIX}{key_id}"


def usage_key(key_id: str, day: str, model: str) -> dict[str, str]:
    """The primary key of one ledger row: a key's usage of one model on one day."""
    return {"PK": usage_partition(key_id), "SK": f"{day}#{model}"}


_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=10)


def dynamodb_resource(settings: Settings) -> Any:
    """A boto3 DynamoDB resource for the configured region and endpoint (`AWS_ENDPOINT_URL_DYNAMODB`)."""
    return boto3.session.Session().resource(
        "dynamodb",
        region_name=settings.aws_region,
        endpoint_url=settings.dynamodb_endpoint_url,
        config=_CLIENT_CONFIG,
    )


def table(settings: Settings) -> Any:
    return dynamodb_resource(settings).Table(settings.table_name)


def create_table(settings: Settings) -> bool:
    """Create the table (on-demand, TTL on `expires_at`) unless it exists. True when it was created."""
    dynamodb = dynamodb_resource(settings)
    try:
        created = dynamodb.create_table(
            TableName=settings.table_name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            SSESpecification={"Enabled": True},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceInUseException":
            return False
        raise
    created.wait_until_exists()
    dynamodb.meta.client.update_time_to_live(
        TableName=settings.table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )
    return True
