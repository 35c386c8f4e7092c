"""Signed AWS calls over aiohttp, for the hot paths where boto3's per-call CPU shows (Bedrock, the ledger).

One keep-alive session per event loop (uvicorn and Mangum each keep theirs), requests signed with botocore's
SigV4 signer and the standard AWS credential chain (read on first use, forgotten after a SnapStart restore).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from yarl import URL


class NoCredentials(Exception):
    """No AWS credentials were found for a signed call."""


class SignedHttp:
    def __init__(
        self, service: str, region: str, timeout: aiohttp.ClientTimeout, max_connections: int = 256
    ) -> None:
        self._service = service
        self._region = region
        self._timeout = timeout
        self._max_connections = max_connections
        self._credentials: Any = None
        self._sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}

    def _session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300)
            session = aiohttp.ClientSession(timeout=self._timeout, connector=connector, auto_decompress=False)
            self._sessions[loop] = session
        return session

    def _signed(self, url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        if self._credentials is None:
            self._credentials = botocore.session.Session().get_credentials()
        if self._credentials is None:
            raise NoCredentials(f"no AWS credentials to call {self._service} with")
        request = AWSRequest(method="POST", url=url, data=body, headers=headers)
        SigV4Auth(self._credentials.get_frozen_credentials(), self._service, self._region).add_auth(request)
        return dict(request.headers.items())

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> aiohttp.ClientResponse:
        """Send a signed POST; aiohttp's errors and TimeoutError reach the caller, who knows what they mean."""
        signed = self._signed(url, body, headers)
        return await self._session().post(URL(url, encoded=True), data=body, headers=signed)

    def forget(self) -> None:
        """Drop sessions and credentials without closing them (after a SnapStart restore their sockets are dead)."""
        self._sessions = {}
        self._credentials = None

    async def aclose(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()
