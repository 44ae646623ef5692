"""How current the log's trusted time is, for ``/readyz`` and ``/metrics``: the age of the
newest timestamped checkpoint's token, and how long the newest checkpoint has been waiting for
one. Both are read from the database, so every process of a deployment reports the same."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from ledger.store.log_port import LogStore
from ledger.store.timestamp_port import TimestampStore


@dataclass(frozen=True)
class TimestampFreshness:
    """``newest_size``: the largest checkpoint with a token (None: none has one);
    ``age_seconds``: since that token's time; ``pending_seconds``: since the newest
    checkpoint was signed while it has no token (0 once it has one)."""

    newest_size: int | None
    age_seconds: float | None
    pending_seconds: float


async def read_freshness(log: LogStore, store: TimestampStore,
                         now: Callable[[], dt.datetime]) -> TimestampFreshness:
    """Read the figures; raises whatever the store raises when the database does not
    answer."""
    at = now()
    newest = await store.newest()
    latest = await log.latest_checkpoint()
    age = None if newest is None else max(0.0, (at - newest.gen_time).total_seconds())
    pending = 0.0
    if latest is not None and latest.signed_at is not None and (
            newest is None or newest.size < latest.size):
        pending = max(0.0, (at - latest.signed_at).total_seconds())
    return TimestampFreshness(None if newest is None else newest.size, age, pending)


def freshness_problems(freshness: TimestampFreshness, max_pending: float) -> list[str]:
    """What keeps a process from being ready: the newest checkpoint has waited longer than
    ``max_pending`` seconds for a timestamp (the authorities are down, or refuse it)."""
    if freshness.pending_seconds > max_pending:
        return [f"the newest checkpoint has waited {freshness.pending_seconds:.0f} s for an "
                f"RFC 3161 timestamp (more than {max_pending:g})"]
    return []
