"""The function's role against the requests the app really makes: the gateway runs against DynamoDB behind an
IAM-enforcing proxy that applies the template's function role (and its boundary) to every request.

Calls with rate, token, budget and concurrency limits must pass (rate windows, spend, leases, the ledger and
its transaction, item by item); a compromised function
must not be able to rewrite a key record (un-revoke it, raise its limits) or read the table wholesale. The item
layout comes from access/table.py, so a new item family the app writes shows up here as a refused request.
"""

from __future__ import annotations

import boto3
import openai
import pytest
from botocore.exceptions import ClientError

from pennyworth.access.keys import KeyStore, new_key
from pennyworth.access.table import key_record_key, rate_window_key, spend_key, table, usage_key
from pennyworth.api.app import create_app
from pennyworth.settings import Settings
from tests.support.cfn import Stack
from tests.support.dynamodb_iam import DynamoDBUnderIam
from tests.support.iam import Principal, Request, allows
from tests.support.roles import deployment, principal
from tests.support.servers import serve_app


@pytest.fixture(scope="module")
def stack() -> Stack:
    return deployment()


def function_role(stack: Stack) -> Principal:
    return principal(stack, "FunctionRole")


@pytest.fixture
def limited_key(dynamodb: str, table_name: str) -> tuple[str, str]:
    key_id, key = new_key()
    store = KeyStore(table(Settings(AWS_ENDPOINT_URL_DYNAMODB=dynamodb, table_name=table_name)))
    store.create(
        {"name": "limited", "rpm": 100, "tpm": 100_000, "budget_usd": 50.0, "max_concurrency": 5},
        full_key=(key_id, key),
    )
    return key_id, key


def test_the_gateway_works_under_the_function_role(stack, make_settings, dynamodb, limited_key) -> None:
    key_id, key = limited_key
    with DynamoDBUnderIam(function_role(stack), stack.attribute("KeysTable", "Arn"), dynamodb) as proxy:
        app = create_app(make_settings(AWS_ENDPOINT_URL_DYNAMODB=proxy.url))
        with serve_app(app) as url:
            client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=30)
            answer = client.chat.completions.create(
                model="nova-pro", messages=[{"role": "user", "content": "hello"}]
            )
            assert answer.choices[0].message.content
            stream = client.chat.completions.create(
                model="nova-pro",
                messages=[{"role": "user", "content": "hello"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            assert any(chunk.usage for chunk in stream)
    assert proxy.refused() == []
    asked = {(action, tuple(keys)) for action, keys in proxy.allowed_actions()}
    assert ("dynamodb:GetItem", (f"KEY#{key_id}",)) in asked  # the key record, and spend
    assert ("dynamodb:UpdateItem", (f"KEY#{key_id}",)) in asked  # rate window, spend
    assert ("dynamodb:UpdateItem", (f"USAGE#{key_id}",)) in asked  # the ledger


def test_a_compromised_function_cannot_rewrite_a_key_record(stack, dynamodb, table_name, limited_key) -> None:
    key_id, _ = limited_key
    with DynamoDBUnderIam(function_role(stack), stack.attribute("KeysTable", "Arn"), dynamodb) as proxy:
        client = boto3.client("dynamodb", endpoint_url=proxy.url, region_name="us-east-1")
        record = {k: {"S": v} for k, v in key_record_key(key_id).items()}
        attempts = {
            "un-revoke": dict(
                Key=record,
                UpdateExpression="SET #s = :active",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":active": {"S": "active"}},
            ),
            "raise its rate limit": dict(
                Key=record, UpdateExpression="SET rpm = :n", ExpressionAttributeValues={":n": {"N": "999999"}}
            ),
            "a status on a rate window": dict(
                Key={k: {"S": v} for k, v in rate_window_key(key_id, 60).items()},
                UpdateExpression="SET #s = :active",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":active": {"S": "active"}},
            ),
            "read back the item it updates": dict(
                Key={k: {"S": v} for k, v in spend_key(key_id, "2026-12").items()},
                UpdateExpression="ADD cost_nusd :c",
                ExpressionAttributeValues={":c": {"N": "1"}},
                ReturnValues="ALL_NEW",
            ),
        }
        for name, arguments in attempts.items():
            with pytest.raises(ClientError) as refused:
                client.update_item(TableName=table_name, **arguments)
            assert refused.value.response["Error"]["Code"] == "AccessDeniedException", name
            assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        for call in (
            lambda: client.put_item(TableName=table_name, Item=record),
            lambda: client.delete_item(TableName=table_name, Key=record),
            lambda: client.query(
                TableName=table_name,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": record["PK"]},
            ),
            lambda: client.scan(TableName=table_name),
        ):
            with pytest.raises(ClientError) as refused:
                call()
            assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
        ledger = {k: {"S": v} for k, v in usage_key(key_id, "2026-12-01", "nova-pro").items()}
        client.update_item(
            TableName=table_name,
            Key=ledger,
            UpdateExpression="ADD requests :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )  # the ledger stays writable


def test_the_old_function_policy_would_have_allowed_the_un_revoke(stack) -> None:
    table_arn = stack.attribute("KeysTable", "Arn")
    old = Principal(
        "function role before issue 12",
        (
            {
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query"],
                "Resource": [table_arn, f"{table_arn}/index/*"],
            },
        ),
    )
    un_revoke = Request(
        "dynamodb:UpdateItem",
        table_arn,
        {"dynamodb:LeadingKeys": ["KEY#abc"], "dynamodb:Attributes": ["PK", "SK", "status"]},
    )
    assert allows(old, un_revoke) and not allows(function_role(stack), un_revoke)


def test_xray_rights_only_with_tracing() -> None:
    xray = Request("xray:PutTraceSegments", "*")
    assert allows(principal(deployment(EnableTracing="true"), "FunctionRole"), xray)
    assert not allows(principal(deployment(EnableTracing="false"), "FunctionRole"), xray)
