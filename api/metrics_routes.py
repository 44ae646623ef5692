"""``GET /metrics``: the Prometheus exposition (ledger.metrics).

Not public, like every endpoint but the health probes and the transparency log: it answers a
bearer token of a principal acting as ``operator``, or the scrape token LEDGER_METRICS_TOKEN
when one is set (a secret that opens this endpoint and nothing else, so Prometheus need not
hold an operator's powers). Anyone else gets 401 (counted as a failed authentication) or 403.
"""

from __future__ import annotations

from aiohttp import web

from api.auth import SCRAPE_PATH, SCRAPING, actor_of
from api.endpoint import EndpointTable
from api.runtime_key import RUNTIME
from ledger.errors import ForbiddenError
from ledger.metrics import CONTENT_TYPE
from ledger.readiness import read_state
from ledger.timestamp.freshness import read_freshness

table = EndpointTable()
READERS = ("operator",)


@table.route("GET", SCRAPE_PATH, "Prometheus metrics (an operator, or the metrics token)",
             produces=(("text/plain", {"type": "string"}),), tag="operations")
async def get_metrics(request: web.Request) -> web.Response:
    """Every metric of this process, with the ledger's gauges read from the database now."""
    if not request.get(SCRAPING) and actor_of(request).role not in READERS:
        raise ForbiddenError("the metrics are for an operator (or the LEDGER_METRICS_TOKEN)")
    runtime = request.app[RUNTIME]
    state = await read_state(runtime.log, runtime.projections, runtime.webhooks, runtime.clock)
    runtime.metrics.refresh(state, runtime.workers.health())
    runtime.metrics.refresh_caches()
    if runtime.settings.timestamps.enabled and runtime.timestamps is not None:
        runtime.metrics.refresh_timestamps(await read_freshness(
            runtime.log, runtime.timestamps, runtime.clock))
    return web.Response(body=runtime.metrics.render(),
                        headers={"Content-Type": CONTENT_TYPE, "Cache-Control": "no-store"})


__all__ = ["table"]
