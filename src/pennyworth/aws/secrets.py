"""Provider credentials from AWS Secrets Manager, by ARN, cached for the life of the instance.

Used for catalog routes to non-Bedrock providers (`api_key_secret_arn` in models.yaml), so no provider key
ever sits in the template or the environment. A secret's value is either the key itself or a JSON object
with an `api_key` field. The Secrets Manager client is created once, from a session of its own, under a lock:
boto3's default session is not safe to create clients from in several worker threads at once.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import anyio
import boto3

from pennyworth.errors import UpstreamUnavailable
from pennyworth.settings import Settings


class SecretStore:
    def __init__(self, settings: Settings) -> None:
        self._region = settings.aws_region
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._cache: dict[str, str] = {}

    def _secrets_client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = boto3.session.Session().client("secretsmanager", region_name=self._region)
            return self._client

    def _fetch(self, arn: str) -> str:
        try:
            value = str(self._secrets_client().get_secret_value(SecretId=arn)["SecretString"])
        except Exception as exc:
            # The ARN and the cause go to the operator's logs; the client only learns that a provider is down.
            raise UpstreamUnavailable("The provider credentials for this model could not be loaded.") from exc
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return value.strip()
        return str(parsed.get("api_key", "")) if isinstance(parsed, dict) else value.strip()

    async def api_key(self, arn: str) -> str:
        if arn not in self._cache:
            self._cache[arn] = await anyio.to_thread.run_sync(self._fetch, arn)
        return self._cache[arn]
