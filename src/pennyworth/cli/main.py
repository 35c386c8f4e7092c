"""The `pennyworth` command line: run the gateway, manage keys, read usage, create the table.

    pennyworth serve [--host H] [--port P]
    pennyworth tables create
    pennyworth keys create|list|show|update|revoke|rotate ...
    pennyworth usage [--key ID] [--since DATE] [--by model|day] [--json]
    pennyworth console [--port 8765] [--no-browser]

Key, usage and table commands use the operator's AWS credentials and the table named by
`PENNYWORTH_TABLE_NAME` (endpoint `AWS_ENDPOINT_URL_DYNAMODB`, region `AWS_REGION`). Failures print one line
to stderr and exit non-zero.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from pennyworth.cli import admin
from pennyworth.cli.admin import AdminError


def _serve(args: argparse.Namespace) -> int:
    from pennyworth.runtime.server import serve

    serve(args.host, args.port, access_log=args.access_log)
    return 0


def _console(args: argparse.Namespace) -> int:
    from pennyworth.cli.console.server import run_console
    from pennyworth.settings import get_settings

    run_console(get_settings(), args.port, open_browser=not args.no_browser)
    return 0


def _table() -> Any:
    from pennyworth.access.table import table
    from pennyworth.settings import get_settings

    return table(get_settings())


def _store() -> Any:
    from pennyworth.access.keys import KeyStore

    return KeyStore(_table())


def _print(value: Any, as_json: bool, text: str) -> None:
    print(json.dumps(value, indent=2, default=str) if as_json else text)


def _key_text(view: dict[str, Any]) -> str:
    lines = [f"{k}: {v}" for k, v in view.items() if v not in (None, [], {}, "")]
    return "\n".join(lines)


def _tables_create(args: argparse.Namespace) -> int:
    from pennyworth.access.table import create_table
    from pennyworth.settings import get_settings

    settings = get_settings()
    created = create_table(settings)
    print(f"table {settings.table_name} {'created' if created else 'already exists'}")
    return 0


def _limit_options(args: argparse.Namespace) -> dict[str, Any]:
    fields = _key_fields(args)
    if args.auto_cache is not None:
        fields["auto_cache_points"] = args.auto_cache == "on"
    return fields


def _key_fields(args: argparse.Namespace) -> dict[str, Any]:
    return admin.key_fields(
        name=getattr(args, "name", None),
        owner=args.owner,
        models=args.models,
        rpm=args.rpm,
        tpm=args.tpm,
        max_concurrency=args.max_concurrency,
        max_tokens=args.max_tokens,
        budget=args.budget,
        period=args.period,
        expires=args.expires,
        tags=args.tag,
    )


def _keys_create(args: argparse.Namespace) -> int:
    created, key = admin.create_key(_store(), _limit_options(args))
    view = {"key": key, **created}
    text = f"{key}\n\nThis is the only time the key is shown. Key id: {created['key_id']}"
    _print(view, args.json, text)
    return 0


def _keys_list(args: argparse.Namespace) -> int:
    from pennyworth.access.limits import Spend

    views = admin.list_keys(_store(), Spend(_table()))
    _print(views, args.json, admin.keys_table(views) if views else "no keys")
    return 0


def _keys_show(args: argparse.Namespace) -> int:
    from pennyworth.access.limits import Spend

    view = admin.show_key(_store(), Spend(_table()), args.key_id)
    _print(view, args.json, _key_text(view))
    return 0


def _keys_update(args: argparse.Namespace) -> int:
    cleared = [
        field
        for flag, field in (
            ("clear_rpm", "rpm"),
            ("clear_tpm", "tpm"),
            ("clear_max_concurrency", "max_concurrency"),
            ("clear_max_tokens", "max_tokens"),
            ("clear_budget", "budget_usd"),
            ("clear_expires", "expires"),
            ("all_models", "allowed_models"),
        )
        if getattr(args, flag)
    ]
    view = admin.update_key(_store(), args.key_id, _limit_options(args), cleared)
    _print(view, args.json, _key_text(view))
    return 0


def _keys_revoke(args: argparse.Namespace) -> int:
    view = admin.revoke_key(_store(), args.key_id)
    _print(
        view, args.json, f"revoked {view['key_id']} (in-flight instances notice within their key cache time)"
    )
    return 0


def _keys_rotate(args: argparse.Namespace) -> int:
    view, key = admin.rotate_key(_store(), args.key_id)
    _print({"key": key, **view}, args.json, f"{key}\n\nThe old key for {view['key_id']} no longer works.")
    return 0


def _usage(args: argparse.Namespace) -> int:
    from pennyworth.access.usage import UsageLedger

    report = admin.usage_report(UsageLedger(_table()), args.key, admin.parse_since(args.since), args.by)
    _print(report, args.json, admin.usage_table(report, args.by) if report["rows"] else "no usage recorded")
    return 0


def _add_key_options(parser: argparse.ArgumentParser, creating: bool) -> None:
    if creating:
        parser.add_argument("--name", required=True, help="who or what the key is for")
    else:
        parser.add_argument("--name", help="new name")
    parser.add_argument("--owner", help="owner, e.g. an email address")
    parser.add_argument("--models", help="allowed models: names or globs, comma-separated (default: all)")
    parser.add_argument("--rpm", type=int, help="requests per minute")
    parser.add_argument("--tpm", type=int, help="tokens per minute")
    parser.add_argument(
        "--max-concurrency",
        type=int,
        help="requests in flight at once"
        + (f" (default {admin.NEW_KEY_DEFAULTS['max_concurrency']})" if creating else ""),
    )
    parser.add_argument("--max-tokens", type=int, help="the most output tokens one request may ask for")
    parser.add_argument("--budget", type=float, help="budget in USD per period")
    parser.add_argument(
        "--period", choices=["daily", "monthly", "total"], help="budget period (default monthly)"
    )
    parser.add_argument("--expires", help="expiry: a date (2027-01-01) or a duration (30d, 12h)")
    parser.add_argument("--tag", action="append", default=[], metavar="K=V", help="a tag (repeatable)")
    parser.add_argument(
        "--auto-cache", choices=["on", "off"], help="automatic prompt cache points for this key (default on)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pennyworth", description="Serverless LLM gateway to Amazon Bedrock."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the gateway under uvicorn", description="Run the gateway.")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    serve.add_argument("--access-log", action="store_true", help="log one line per request")
    serve.set_defaults(func=_serve)

    console = commands.add_parser(
        "console",
        help="a web console for keys and usage on 127.0.0.1",
        description="Serve the operator console on 127.0.0.1 (your AWS credentials; a per-run token in the URL).",
    )
    console.add_argument(
        "--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0 = any free)"
    )
    console.add_argument("--no-browser", action="store_true", help="print the URL but do not open a browser")
    console.set_defaults(func=_console)

    tables = commands.add_parser(
        "tables", help="the DynamoDB table", description="Manage the DynamoDB table."
    )
    tables_commands = tables.add_subparsers(dest="tables_command", required=True, metavar="COMMAND")
    tables_commands.add_parser(
        "create", help="create the table (idempotent)", description="Create the table if missing."
    ).set_defaults(func=_tables_create)

    keys = commands.add_parser("keys", help="API keys", description="Create and manage API keys.")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    create = keys_commands.add_parser(
        "create", help="create a key (shown once)", description="Create a key; it is printed once."
    )
    _add_key_options(create, creating=True)
    create.set_defaults(func=_keys_create)
    listing = keys_commands.add_parser(
        "list", help="list keys", description="List keys with limits and spend."
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=_keys_list)
    for name, func, text in (
        ("show", _keys_show, "show one key"),
        ("revoke", _keys_revoke, "revoke a key"),
        ("rotate", _keys_rotate, "new secret, same id and settings; the old key stops working"),
    ):
        command = keys_commands.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        command.add_argument("key_id", metavar="ID")
        command.add_argument("--json", action="store_true", help="print JSON")
        command.set_defaults(func=func)
    update = keys_commands.add_parser(
        "update", help="change a key's settings", description="Change a key's settings."
    )
    update.add_argument("key_id", metavar="ID")
    _add_key_options(update, creating=False)
    for flag, text in (
        ("--clear-rpm", "remove the rpm limit"),
        ("--clear-tpm", "remove the tpm limit"),
        ("--clear-max-concurrency", "no limit on requests in flight"),
        ("--clear-max-tokens", "no cap on max_tokens"),
        ("--clear-budget", "remove the budget"),
        ("--clear-expires", "never expire"),
        ("--all-models", "allow every model"),
    ):
        update.add_argument(flag, action="store_true", help=text)
    update.set_defaults(func=_keys_update)

    usage = commands.add_parser(
        "usage", help="usage and cost from the ledger", description="Usage and cost totals."
    )
    usage.add_argument("--key", help="only this key id")
    usage.add_argument("--since", help="from this day on (YYYY-MM-DD)")
    usage.add_argument(
        "--by", choices=["model", "day"], default="model", help="group rows by (default model)"
    )
    usage.add_argument("--json", action="store_true", help="print JSON")
    usage.set_defaults(func=_usage)
    return parser


def _one_line(exc: Exception) -> str:
    from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

    from pennyworth.access.keys import KeyNotFound, KeyRevoked

    if isinstance(exc, KeyNotFound):
        return f"no key with id {exc.args[0]!r}"
    if isinstance(exc, KeyRevoked):
        return f"key {exc.args[0]!r} is revoked: create a new key instead"
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
    if isinstance(exc, NoRegionError):
        return "no AWS region (set AWS_REGION)"
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            from pennyworth.settings import get_settings

            return f"table {get_settings().table_name!r} not found (run `pennyworth tables create`, or set PENNYWORTH_TABLE_NAME)"
        return f"AWS error {code}: {exc.response.get('Error', {}).get('Message', '')}"
    return str(exc) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except AdminError as exc:
        print(f"pennyworth: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        if args.func is _serve:
            raise
        from botocore.exceptions import BotoCoreError, ClientError

        from pennyworth.access.keys import KeyNotFound, KeyRevoked

        if isinstance(exc, KeyNotFound | KeyRevoked | BotoCoreError | ClientError):
            print(f"pennyworth: {_one_line(exc)}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
