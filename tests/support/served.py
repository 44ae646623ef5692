"""The site served the way ``ledger serve`` serves it (aiohttp's AppRunner with its
defaults: a handler is not cancelled when its client goes away), beside a test's server."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator

from aiohttp import web

from tests.integration.http_fixtures import Api
from web.site import build_site


@contextlib.asynccontextmanager
async def as_ledger_serves(api: Api) -> AsyncIterator[Api]:
    """``api``'s runtime served again on 127.0.0.1 as ``ledger serve`` does (TestServer
    cancels a handler whose client left; production lets it run into the closed socket)."""
    runner = web.AppRunner(build_site(api.runtime), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        yield dataclasses.replace(api, base=f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()
