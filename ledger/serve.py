"""``ledger serve``: run the aiohttp app until SIGINT/SIGTERM, then shut down gracefully."""

from __future__ import annotations

import asyncio
import datetime
import logging
import signal

from aiohttp import web

from ledger.runtime import Runtime, open_runtime
from ledger.settings import Settings

log = logging.getLogger("ledger.serve")


async def serve(settings: Settings, host: str, port: int, sequencer: bool = True,
                demo: bool = False) -> int:
    """Serve until a signal arrives; in-flight requests finish, the sequencer ends its batch.

    With ``demo``, the seed scenarios are played first if the ledger has no departure yet.
    """
    from api.app import build_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    runtime = await open_runtime(settings)
    await runtime.ledger.install_builtin_templates()
    await _bootstrap_operator(runtime)
    if demo:
        await _load_demo(runtime)
    runner = web.AppRunner(build_app(runtime, run_sequencer=sequencer),
                           shutdown_timeout=30, access_log=None)
    try:
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        for verifier in runtime.verifiers:
            print(f"log verifier key: {verifier.vkey}", flush=True)
        print(f"serving on http://{host}:{port} (database {_redacted(settings)})", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        print("shutting down", flush=True)
    finally:
        await runner.cleanup()
        await runtime.close()
    return 0


def _redacted(settings: Settings) -> str:
    url = settings.database_url
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://…@{rest.split('@', 1)[1]}"
    return url


async def _bootstrap_operator(runtime: Runtime) -> None:
    """On first start, create the ``admin`` operator and print its token, once."""
    from ledger.service.ledger import SYSTEM_ACTOR
    from ledger.service.principal_cases import create_principal, issue_token

    if await runtime.principals.list_principals():
        return
    await create_principal(runtime.principals, SYSTEM_ACTOR, "admin", "Administrator",
                           ["operator"])
    token = await issue_token(runtime.principals, SYSTEM_ACTOR, "admin", "bootstrap",
                              max_ttl=runtime.settings.token_ttl)
    print(f"bootstrap operator token (shown once): {token}", flush=True)


async def _load_demo(runtime: Runtime) -> None:
    """Seed scenarios into an empty ledger; one fresh token per demo principal."""
    from ledger.demo_scenarios import issue_demo_tokens, play_all

    if not await runtime.store.stream_ids("departure"):
        played = await play_all(runtime.ledger, datetime.date.today(), runtime.blobs,
                                runtime.principals)
        for name, departure_id in played.items():
            print(f"demo: {name:32} departure {departure_id}", flush=True)
    for principal_id, roles, part, token in await issue_demo_tokens(runtime.principals):
        print(f"demo token {principal_id:11} {roles:17} {token}  ({part})", flush=True)
