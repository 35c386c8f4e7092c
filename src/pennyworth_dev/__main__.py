"""`make serve`: run the gateway locally — against the Bedrock double when no AWS credentials are found.

    python -m pennyworth_dev [--offline | --aws] [--host 127.0.0.1] [--port 8000]

Keys, limits and usage live in a DynamoDB-compatible server (moto) started on loopback, which also holds
the inputs bucket for uploaded files (S3), with the table and bucket created and a dev key printed, plus the `export` line that points the `pennyworth` CLI at it. Offline, the
Bedrock double runs in this process too, the gateway signs with throwaway credentials the double verifies,
and every answer is simulated (the banner says so). With `--aws` (or credentials found in the environment or
~/.aws), model calls go to real Bedrock in AWS_REGION.
"""

from __future__ import annotations

import argparse
import os
import sys

from pennyworth_dev.bedrock_double import TEST_CREDENTIALS, BedrockDouble
from pennyworth_dev.dynamodb import LocalDynamoDB


def _aws_credentials_available() -> bool:
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")  # never probe instance metadata from a laptop
    import botocore.session

    return botocore.session.Session().get_credentials() is not None


def _banner(base_url: str, key: str, offline: bool, double_url: str | None, cli_env: str) -> str:
    mode = (
        f"OFFLINE — responses are SIMULATED by the Bedrock double at {double_url} (no AWS calls are made)"
        if offline
        else f"AWS — requests go to Amazon Bedrock in {os.environ.get('AWS_REGION', 'us-east-1')}"
    )
    return "\n".join(
        [
            "",
            "pennyworth dev server",
            f"  mode:      {mode}",
            f"  base URL:  {base_url}/v1",
            f"  API key:   {key}",
            "",
            "  manage keys from another shell:",
            f"    export {cli_env}",
            "    pennyworth keys list",
            "    pennyworth console          # keys, spend and usage in the browser (127.0.0.1:8765)",
            "",
            "  try:",
            f"    export OPENAI_BASE_URL={base_url}/v1 OPENAI_API_KEY={key}",
            f"    curl -s {base_url}/v1/chat/completions -H 'Authorization: Bearer {key}' \\",
            "      -H 'Content-Type: application/json' \\",
            """      -d '{"model": "claude-sonnet-5-5", "messages": [{"role": "user", "content": "Hello"}]}'""",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pennyworth_dev", description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--offline", action="store_true", help="always use the Bedrock double")
    mode.add_argument("--aws", action="store_true", help="always use real Bedrock (needs AWS credentials)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)

    offline = args.offline or (not args.aws and not _aws_credentials_available())
    double = None
    if offline:
        double = BedrockDouble().start()
        os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = double.url
        os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"] = TEST_CREDENTIALS
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.setdefault("AWS_REGION", "us-east-1")
    dynamodb = LocalDynamoDB()
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb.start()
    os.environ["AWS_ENDPOINT_URL_S3"] = dynamodb.url  # the same moto server holds the inputs bucket
    os.environ.setdefault("PENNYWORTH_TABLE_NAME", "pennyworth")
    os.environ.setdefault("PENNYWORTH_INPUTS_BUCKET", "pennyworth-inputs")

    import uvicorn

    from pennyworth.access.keys import KeyStore
    from pennyworth.access.table import create_table, table
    from pennyworth.api.app import create_app
    from pennyworth.observability import configure_logging
    from pennyworth.settings import get_settings
    from pennyworth_dev.s3 import create_inputs_bucket

    settings = get_settings()
    configure_logging(settings.log_level)
    create_table(settings)
    create_inputs_bucket(dynamodb.url, os.environ["PENNYWORTH_INPUTS_BUCKET"], settings.aws_region)
    _, key = KeyStore(table(settings)).create({"name": "dev", "owner": "make serve"})
    cli_env = " ".join(
        f"{name}={os.environ[name]}"
        for name in ("AWS_ENDPOINT_URL_DYNAMODB", "PENNYWORTH_TABLE_NAME", "AWS_REGION")
        if name in os.environ
    )
    if offline:
        cli_env += f" AWS_ACCESS_KEY_ID={TEST_CREDENTIALS[0]} AWS_SECRET_ACCESS_KEY={TEST_CREDENTIALS[1]}"
    app = create_app(settings)
    print(_banner(f"http://{args.host}:{args.port}", key, offline, double.url if double else None, cli_env))
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    finally:
        dynamodb.stop()
        if double is not None:
            double.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
