"""The gateway's async DynamoDB client: typed values, signing, retries on throttling/5xx/conflicts, immediate
failure otherwise, a deadline; and the ledger's idempotent write over it."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pennyworth.access.keys import KeyStore
from pennyworth.access.table import table
from pennyworth.access.usage import UsageLedger, UsageRecord
from pennyworth.aws.dynamodb import DynamoError, DynamoHttp, DynamoUnavailable, attribute, plain
from pennyworth.llm.types import Usage
from pennyworth.settings import Settings


def test_typed_values() -> None:
    assert attribute(3) == {"N": "3"} and attribute("x") == {"S": "x"}
    assert attribute({"a": 1}) == {"M": {"a": {"N": "1"}}}
    assert plain({"n": {"N": "3"}, "m": {"M": {"k": {"N": "7"}}}}) == {"n": 3, "m": {"k": 7}}
    with pytest.raises(TypeError):
        attribute(1.5)


class FlakyDynamo(ThreadingHTTPServer):
    """Answers the first `failures` calls with the given error, then 200 — a double of DynamoDB's failures."""

    def __init__(self, failures: int, status: int, error_type: str) -> None:
        self.calls: list[dict] = []
        self.failures, self.status, self.error_type = failures, status, error_type
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                outer.calls.append(
                    {
                        "body": body,
                        "target": self.headers["x-amz-target"],
                        "auth": self.headers["authorization"],
                    }
                )
                failing = len(outer.calls) <= outer.failures
                payload = json.dumps(
                    {"__type": f"com.amazonaws.dynamodb.v20120810#{outer.error_type}", "message": "no"}
                    if failing
                    else {}
                ).encode()
                self.send_response(outer.status if failing else 200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


async def _update(client: DynamoHttp) -> None:
    try:
        await client.call(
            "UpdateItem",
            {
                "TableName": "t",
                "Key": {"PK": attribute("a"), "SK": attribute("b")},
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": attribute(1)},
            },
        )
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("status", "error_type"), [(400, "ProvisionedThroughputExceededException"), (500, "InternalServerError")]
)
def test_retries_then_succeeds(status: int, error_type: str) -> None:
    server = FlakyDynamo(failures=2, status=status, error_type=error_type)
    asyncio.run(_update(DynamoHttp(Settings(AWS_ENDPOINT_URL_DYNAMODB=server.url))))
    server.shutdown()
    assert len(server.calls) == 3
    call = server.calls[-1]
    assert call["target"] == "DynamoDB_20120810.UpdateItem" and call["auth"].startswith("AWS4-HMAC-SHA256 ")
    assert call["body"]["Key"] == {"PK": {"S": "a"}, "SK": {"S": "b"}} and call["body"][
        "ExpressionAttributeValues"
    ] == {":one": {"N": "1"}}


def test_client_errors_fail_at_once() -> None:
    server = FlakyDynamo(failures=5, status=400, error_type="ValidationException")
    with pytest.raises(DynamoError) as caught:
        asyncio.run(_update(DynamoHttp(Settings(AWS_ENDPOINT_URL_DYNAMODB=server.url))))
    server.shutdown()
    assert caught.value.error_type == "ValidationException" and len(server.calls) == 1


def test_retries_are_bounded() -> None:
    server = FlakyDynamo(failures=99, status=503, error_type="ServiceUnavailable")
    with pytest.raises(DynamoUnavailable, match="after 5 attempt"):
        asyncio.run(_update(DynamoHttp(Settings(AWS_ENDPOINT_URL_DYNAMODB=server.url))))
    server.shutdown()
    assert len(server.calls) == 5


def test_ledger_write_and_lost_write_is_logged(dynamodb: str, table_name: str, caplog) -> None:
    settings = Settings(AWS_ENDPOINT_URL_DYNAMODB=dynamodb, table_name=table_name)
    record, _ = KeyStore(table(settings)).create({"name": "async ledger"})
    figures = UsageRecord(record.key_id, "nova-pro", Usage(prompt_tokens=5, completion_tokens=2), 250_000_000)

    async def write(ledger: UsageLedger) -> bool:
        try:
            return await ledger.record("request-1", figures)
        finally:
            await ledger.aclose()

    assert asyncio.run(write(UsageLedger(table(settings), DynamoHttp(settings)))) is True
    (row,) = UsageLedger(table(settings)).rows(record.key_id)
    assert (row.requests, row.prompt_tokens, row.completion_tokens, row.cost_usd) == (1, 5, 2, 0.25)
    missing = Settings(AWS_ENDPOINT_URL_DYNAMODB=dynamodb, table_name="no-such-table")
    with caplog.at_level(logging.ERROR, logger="pennyworth.access.usage"):
        assert asyncio.run(write(UsageLedger(table(missing), DynamoHttp(missing)))) is False
    assert f"USAGE#{record.key_id}" in caplog.text and "'completion_tokens': 2" in caplog.text  # figures kept
