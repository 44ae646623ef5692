"""What the operator needs to know of the ledger as a whole, read from its database in one
go: the log's size and checkpoint age, the sequencer's lag, each projection's lag or error,
and the webhook outbox. ``/readyz`` judges it (``problems``); ``/metrics`` reports it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ledger.store.log_port import LogStore
from ledger.store.projection_port import ProjectionStore
from ledger.store.webhook_port import WebhookStore
from ledger.workers import WorkerHealth


@dataclass(frozen=True)
class ProjectionLag:
    """One projection's place behind the log, and the error it stopped at (if any)."""

    name: str
    position: int
    lag: int
    error: str | None


@dataclass(frozen=True)
class LedgerState:
    """The figures ``read_state`` found."""

    log_size: int
    queued: int  # events committed, not yet sequenced into the log
    checkpoint_age: float | None  # seconds; None before the first checkpoint
    projections: tuple[ProjectionLag, ...]
    webhook_backlog: int  # deliveries pending
    webhook_dead_letters: int


async def read_state(log: LogStore, projections: ProjectionStore, webhooks: WebhookStore,
                     now: Callable[[], dt.datetime]) -> LedgerState:
    """Read the state; raises whatever the store raises when the database does not answer."""
    size = await projections.log_size()
    queued = await projections.fetch("SELECT count(*) AS n FROM log_queue")
    latest = await log.latest_checkpoint()
    age = None
    if latest is not None and latest.signed_at is not None:
        age = max(0.0, (now() - latest.signed_at).total_seconds())
    lags = tuple(ProjectionLag(s.name, s.position, max(0, size - s.position), s.error)
                 for s in sorted(await projections.states(), key=lambda s: s.name))
    # Only the waiting and the given-up deliveries, from the (status, …) index: the delivered
    # ones are kept forever, and /readyz (public) must not count them all at every call.
    outbox = {str(r["status"]): int(r["n"]) for r in await webhooks.fetch(
        "SELECT status, count(*) AS n FROM webhook_outbox"
        " WHERE status IN ('pending', 'dead') GROUP BY status")}
    return LedgerState(size, int(queued[0]["n"]), age, lags, outbox.get("pending", 0),
                       outbox.get("dead", 0))


def problems(state: LedgerState, workers: Sequence[WorkerHealth], max_lag: int) -> list[str]:
    """What keeps this process from being ready, one short phrase each (no error text:
    readiness is public; the server log says why). A projection or the sequencer further
    than ``max_lag`` entries behind counts, whichever process runs it."""
    found = [f"worker {w.name} {'is retrying' if w.retrying else 'stopped on an error'}"
             for w in workers if not w.ok]
    if state.queued > max_lag:
        found.append(f"sequencer is {state.queued} events behind (more than {max_lag})")
    for p in state.projections:
        if p.error:
            found.append(f"projection {p.name} stopped at an event it cannot apply")
        elif p.lag > max_lag:
            found.append(f"projection {p.name} is {p.lag} entries behind the log "
                         f"(more than {max_lag})")
    return found
