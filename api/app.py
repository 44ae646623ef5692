"""The aiohttp application: routes, middleware, limits and the sequencer's lifetime."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from api import log_routes
from api.problem import problem_middleware
from ledger.runtime import Runtime

RUNTIME = web.AppKey("runtime", Runtime)
MAX_BODY_BYTES = 1 << 20


def build_app(runtime: Runtime, run_sequencer: bool = True) -> web.Application:
    """The web application over an opened runtime; the sequencer runs inside it by default."""
    app = web.Application(middlewares=[problem_middleware], client_max_size=MAX_BODY_BYTES)
    app[RUNTIME] = runtime
    app[log_routes.READER] = runtime.reader
    app[log_routes.VERIFIER_KEYS] = [v.vkey for v in runtime.verifiers]
    app.add_routes(log_routes.routes)
    if run_sequencer:
        app.cleanup_ctx.append(_sequencer_context)
    return app


async def _sequencer_context(app: web.Application) -> AsyncIterator[None]:
    runtime = app[RUNTIME]
    stop = asyncio.Event()
    await runtime.sequencer.step()
    task = asyncio.create_task(runtime.sequencer.run(stop), name="sequencer")
    yield
    # Graceful shutdown: let the current batch commit, then stop leading.
    stop.set()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=30)
