"""``ledger serve``: run the aiohttp app and the process's workers until SIGINT/SIGTERM, then
shut down gracefully. The one place where the HTTP site (api and the web console, web.site)
meets the composition root."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import logging
import signal

from aiohttp import web

from ledger.bootstrap import bootstrap
from ledger.cli.common import Subparsers
from ledger.errors import ConflictError
from ledger.heap import Trimmer, map_large_blocks, settle_heap
from ledger.log_format import configure_logging, fields
from ledger.loop_lag import LoopLagMonitor
from ledger.runtime import Runtime
from ledger.settings import Settings
from ledger.store.factory import redacted_url, sqlite_path
from ledger.store.sqlite_owner import serve_alone
from web.site import build_site

log = logging.getLogger("ledger.serve")


COMMANDS = ("serve",)
"""The commands ``register`` adds (``ledger.cli`` builds only the group a command needs)."""


def register(sub: Subparsers) -> None:
    """Add ``serve``."""
    serve_parser = sub.add_parser("serve", help="run the HTTP service (and the sequencer)")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=8080,
                              help="0 takes a free port (printed in the 'serving on' line)")
    serve_parser.add_argument("--demo", action="store_true",
                              help="play the seed scenarios into an empty ledger first")
    serve_parser.add_argument("--no-sequencer", action="store_true",
                              help="serve only; another process sequences")
    serve_parser.set_defaults(run=serve_command)


async def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    """``ledger serve``."""
    return await serve(settings, args.host, args.port, sequencer=not args.no_sequencer,
                       demo=args.demo)


async def serve(settings: Settings, host: str, port: int, sequencer: bool = True,
                demo: bool = False) -> int:
    """Serve until a signal arrives; in-flight requests finish, then the workers end their
    batch (stopped in reverse order), then the database is released.

    With ``demo``, the seed scenarios are played first if the ledger has no departure yet.
    """
    configure_logging(settings.log_format, settings.log_level)
    map_large_blocks()  # short-lived large blocks do not fragment the heap (ledger.heap)
    database = sqlite_path(settings.database_url)
    # An SQLite file is served by one process (ledger.store.sqlite_owner); several processes
    # share a PostgreSQL database, each role led by one of them (ledger.leadership).
    with serve_alone(database) if database is not None else contextlib.nullcontext():
        runtime = await bootstrap(settings, sequencer=sequencer)
        try:
            await runtime.ledger.install_builtin_templates()
            await _bootstrap_operator(runtime)
            if demo:
                await _load_demo(runtime)
            await _serve_until_signal(runtime, host, port)
        finally:
            await runtime.close()
    return 0


async def _serve_until_signal(runtime: Runtime, host: str, port: int) -> None:
    runner = web.AppRunner(build_site(runtime), shutdown_timeout=30, access_log=None)
    lag = LoopLagMonitor(runtime.metrics.observe_loop_lag)
    trimmer = Trimmer()  # the C allocator's free pages back to the system (ledger.heap)
    try:
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        port = runner.addresses[0][1]  # the bound port: with --port 0, the one the system chose
        await lag.start()
        await trimmer.start()
        await runtime.workers.start()
        settle_heap()  # what startup built is not walked by the collector again
        for verifier in runtime.verifiers:
            print(f"log verifier key: {verifier.vkey}", flush=True)
        database = redacted_url(runtime.settings.database_url)
        print(f"serving on http://{host}:{port} (database {database})", flush=True)
        log.info("serving", extra=fields(port=port))
        stop = asyncio.Event()
        received: list[str] = []

        def on_signal(sig: signal.Signals) -> None:
            received.append(sig.name)
            stop.set()

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig)
        await stop.wait()
        print("shutting down", flush=True)
        log.info("shutting down", extra=fields(signal=received[0] if received else None))
    finally:
        try:
            await runner.cleanup()
        finally:
            await runtime.workers.stop()
            await trimmer.stop()
            await lag.stop()
    log.info("stopped: requests finished, workers stopped")


async def _bootstrap_operator(runtime: Runtime) -> None:
    """On first start, create the ``admin`` operator and print its token, once."""
    from ledger.service.ledger import SYSTEM_ACTOR
    from ledger.service.principal_cases import create_principal, issue_token

    if await runtime.principals.list_principals():
        return
    try:
        await create_principal(runtime.principals, SYSTEM_ACTOR, "admin", "Administrator",
                               ["operator"])
    except ConflictError:  # another process starting on the same database made it first
        return
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
