"""What a route handler needs, wired once per app: settings, catalog, authenticator, metered LLM calls.

`caller` is the FastAPI dependency that authenticates a request and leaves the key's identity on
`request.state.identity` for limits and usage to hang on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from pennyworth.access.auth import Authenticator, extract_api_key
from pennyworth.access.keys import KeyIdentity
from pennyworth.access.metering import Metering
from pennyworth.catalog import Catalog
from pennyworth.settings import Settings


@dataclass
class Services:
    settings: Settings
    catalog: Catalog
    authenticator: Authenticator
    metering: Metering


async def get_services(request: Request) -> Services:
    """(async: FastAPI would run a plain function in a worker thread.)"""
    wired: Services = request.app.state.services
    return wired


async def caller(request: Request) -> KeyIdentity:
    identity: KeyIdentity = await request.app.state.services.authenticator.authenticate(
        extract_api_key(request.headers)
    )
    request.state.identity = identity
    return identity


Caller = Annotated[KeyIdentity, Depends(caller)]
ServicesDep = Annotated[Services, Depends(get_services)]
