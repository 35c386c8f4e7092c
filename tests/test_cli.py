"""The `pennyworth` CLI end to end, as an operator runs it: a real process against DynamoDB (moto's server)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid

import pytest

from pennyworth.access.table import table
from pennyworth.access.usage import UsageLedger, UsageRecord
from pennyworth.aws.dynamodb import DynamoHttp
from pennyworth.llm.types import Usage
from pennyworth.settings import Settings


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pennyworth.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok(env: dict[str, str], *args: str) -> str:
    result = run(env, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def env(dynamodb: str) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("PENNYWORTH_")}
    values.update(AWS_ENDPOINT_URL_DYNAMODB=dynamodb, PENNYWORTH_TABLE_NAME=f"cli-{uuid.uuid4().hex[:8]}")
    assert "created" in ok(values, "tables", "create")
    assert "already exists" in ok(values, "tables", "create")
    return values


def test_help_on_every_command(env) -> None:
    for command in (
        [],
        ["serve"],
        ["tables"],
        ["tables", "create"],
        ["keys"],
        ["keys", "create"],
        ["keys", "list"],
        ["keys", "show"],
        ["keys", "update"],
        ["keys", "revoke"],
        ["keys", "rotate"],
        ["usage"],
    ):
        result = run(env, *command, "--help")
        assert result.returncode == 0 and "usage: pennyworth" in result.stdout, command


def test_key_lifecycle(env) -> None:
    created = json.loads(
        ok(
            env,
            "keys",
            "create",
            "--name",
            "ci bot",
            "--owner",
            "ci@example.com",
            "--models",
            "claude-*,nova-pro",
            "--rpm",
            "60",
            "--tpm",
            "10000",
            "--budget",
            "5",
            "--period",
            "daily",
            "--expires",
            "30d",
            "--tag",
            "team=platform",
            "--json",
        )
    )
    key_id = created["key_id"]
    assert created["key"].startswith(f"pw-{key_id}-")
    assert created["allowed_models"] == ["claude-*", "nova-pro"] and created["tags"] == {"team": "platform"}
    assert "key_hash" not in created

    text = ok(env, "keys", "create", "--name", "plain")
    assert text.startswith("pw-") and "only time" in text

    listed = json.loads(ok(env, "keys", "list", "--json"))
    mine = next(k for k in listed if k["key_id"] == key_id)
    assert mine["spend_this_period_usd"] == 0 and "key" not in mine and "key_hash" not in mine
    table_text = ok(env, "keys", "list")
    assert key_id in table_text and "60 rpm, 10000 tpm, 10 in flight, $5/daily" in table_text

    shown = json.loads(ok(env, "keys", "show", key_id, "--json"))
    assert shown["rpm"] == 60 and shown["expires"] > shown["created"]
    assert shown["max_concurrency"] == 10 and shown["max_tokens"] is None  # the defaults for new keys
    updated = json.loads(
        ok(env, "keys", "update", key_id, "--rpm", "5", "--clear-budget", "--all-models", "--json")
    )
    assert updated["rpm"] == 5 and updated["budget_usd"] is None and updated["allowed_models"] == []
    assert updated["tpm"] == 10000 and updated["tags"] == {"team": "platform"}  # untouched attributes stay
    capped = json.loads(
        ok(env, "keys", "update", key_id, "--max-concurrency", "3", "--max-tokens", "4096", "--json")
    )
    assert (capped["max_concurrency"], capped["max_tokens"]) == (3, 4096)
    cleared = json.loads(
        ok(env, "keys", "update", key_id, "--clear-max-concurrency", "--clear-max-tokens", "--json")
    )
    assert (cleared["max_concurrency"], cleared["max_tokens"]) == (None, None)
    assert run(env, "keys", "update", key_id, "--max-tokens", "0").stderr.strip() == (
        "pennyworth: --max-tokens must be at least 1"
    )

    rotated = json.loads(ok(env, "keys", "rotate", key_id, "--json"))
    assert rotated["key"] != created["key"] and rotated["key_id"] == key_id
    revoked = json.loads(ok(env, "keys", "revoke", key_id, "--json"))
    assert revoked["status"] == "revoked" and revoked["state"] == "revoked"
    assert json.loads(ok(env, "keys", "update", key_id, "--rpm", "7", "--json"))["status"] == "revoked"
    refused = run(env, "keys", "rotate", key_id)
    assert refused.returncode == 1 and "is revoked" in refused.stderr


def test_usage_report(env) -> None:
    settings = Settings(
        AWS_ENDPOINT_URL_DYNAMODB=env["AWS_ENDPOINT_URL_DYNAMODB"], table_name=env["PENNYWORTH_TABLE_NAME"]
    )
    records = [
        UsageRecord(
            "aaaaaaaaaaaa",
            "nova-pro",
            Usage(prompt_tokens=10, completion_tokens=5, cache_read_tokens=2),
            250_000_000,
        ),
        UsageRecord("aaaaaaaaaaaa", "nova-pro", Usage(prompt_tokens=1, completion_tokens=1), 500_000_000),
        UsageRecord("aaaaaaaaaaaa", "claude-sonnet-5-5", None, 0, error=True),
        UsageRecord("bbbbbbbbbbbb", "nova-pro", Usage(prompt_tokens=7), 1_000_000_000),
    ]

    async def seed() -> None:
        ledger = UsageLedger(table(settings), DynamoHttp(settings))
        try:
            for record in records:
                assert await ledger.record(str(uuid.uuid4()), record)
        finally:
            await ledger.aclose()

    asyncio.run(seed())
    report = json.loads(ok(env, "usage", "--key", "aaaaaaaaaaaa", "--json"))
    assert report["totals"] == {
        "requests": 3,
        "errors": 1,
        "prompt_tokens": 11,
        "completion_tokens": 6,
        "cached_tokens": 2,
        "cache_write_tokens": 0,
        "cost_usd": 0.75,
    }
    assert {r["model"]: r["requests"] for r in report["rows"]} == {"nova-pro": 2, "claude-sonnet-5-5": 1}
    everyone = json.loads(ok(env, "usage", "--by", "day", "--json"))
    assert everyone["totals"]["requests"] == 4 and everyone["totals"]["cost_usd"] == 1.75
    assert json.loads(ok(env, "usage", "--since", "2999-01-01", "--json"))["rows"] == []
    assert "TOTAL" in ok(env, "usage")


def test_errors_are_one_line(env, dynamodb: str) -> None:
    unknown = run(env, "keys", "show", "000000000000")
    assert unknown.returncode == 1 and unknown.stderr.strip() == "pennyworth: no key with id '000000000000'"
    missing = run({**env, "PENNYWORTH_TABLE_NAME": "no-such-table"}, "keys", "list")
    assert missing.returncode == 1 and "table 'no-such-table' not found" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    bad_expiry = run(env, "keys", "create", "--name", "x", "--expires", "soon")
    assert bad_expiry.returncode == 1 and "--expires" in bad_expiry.stderr
    no_credentials = {
        k: v for k, v in env.items() if not k.startswith("AWS_ACCESS") and not k.startswith("AWS_SECRET")
    }
    no_credentials.update(AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
    result = run(no_credentials, "keys", "list")
    assert result.returncode == 1 and "no AWS credentials" in result.stderr


def test_automatic_cache_points_per_key(env) -> None:
    created = json.loads(ok(env, "keys", "create", "--name", "no cache", "--auto-cache", "off", "--json"))
    assert created["auto_cache_points"] is False
    updated = json.loads(ok(env, "keys", "update", created["key_id"], "--auto-cache", "on", "--json"))
    assert updated["auto_cache_points"] is True
    assert json.loads(ok(env, "keys", "create", "--name", "default", "--json"))["auto_cache_points"] is True
