"""A PostgreSQL streaming replica for reads (LEDGER_READ_DATABASE_URL): which database serves
each routed read, and a monitor that knows whether the replica can.

``ReplicaRoute.read`` serves a read from the replica when the read's scope allows it
(``ledger.store.read_scope``), the replica is up, and it has replayed the WAL position the scope
requires (waiting up to ``catch_up_seconds``); otherwise, and whenever the replica fails, from
the primary: a replica that is down, promoted or behind costs a read its speed, never its
answer. The monitor (a worker named ``replica``) probes the replica every few seconds:
connection, ``pg_is_in_recovery()`` and how far it has replayed (a replica that has not yet
replayed what the primary had at the previous check is set aside until it has, which bounds
how stale a read without a token can be to about two intervals); its health is always ok
(reads go on through the primary) and its detail says ``streaming`` or ``degraded``, which
``/readyz`` shows.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from ledger.errors import ConfigurationError, LedgerError
from ledger.store.factory import is_postgres_url
from ledger.store.port import EventStore
from ledger.store.postgres import PG_ERRORS, PostgresEventStore, map_postgres_error
from ledger.store.postgres_pool import create_pool
from ledger.store.read_scope import (
    PRIMARY,
    REPLICA,
    ReadScope,
    current_scope,
    format_lsn,
    parse_lsn,
)
from ledger.store.timeouts import DatabaseTimeouts
from ledger.workers import LoopWorker

CATCH_UP_SECONDS = 1.0  # how long a read waits for the replica to reach its WAL position
CHECK_SECONDS = 2.0  # the monitor's interval
CONNECT_SECONDS = 2.0  # a replica that does not answer a connection in this long is down
COMMAND_SECONDS = 10.0  # nor one that does not answer a query
_REPLICA_TIMEOUTS = DatabaseTimeouts(CONNECT_SECONDS, CONNECT_SECONDS, COMMAND_SECONDS)
_POLL_SECONDS = (0.005, 0.01, 0.02, 0.05, 0.1)
# What says the replica itself is unreachable (not merely that one query failed).
_UNREACHABLE = (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
                asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError)

S = TypeVar("S")
R = TypeVar("R")
log = logging.getLogger("ledger.replica")


def _unreachable(e: BaseException) -> bool:
    return isinstance(e, _UNREACHABLE) or isinstance(e.__cause__, _UNREACHABLE)


class ReplicaRoute:
    """Reads to a streaming replica of ``primary``'s database, or to the primary."""

    def __init__(self, primary: asyncpg.Pool, replica_dsn: str, *,
                 catch_up_seconds: float = CATCH_UP_SECONDS,
                 check_seconds: float = CHECK_SECONDS,
                 timeouts: DatabaseTimeouts = _REPLICA_TIMEOUTS) -> None:
        self.primary = primary
        self._dsn = replica_dsn
        self._timeouts = timeouts  # the replica pool's
        self.catch_up_seconds = catch_up_seconds
        self.replica: PostgresEventStore | None = None  # its pool, once it first answered
        self.up = False
        self._replayed = 0  # the furthest WAL position the replica was seen to have replayed
        self._primary_before = 0  # the primary's WAL position at the previous check
        self.served: Counter[str] = Counter()  # reads served, by PRIMARY / REPLICA
        self.worker = LoopWorker("replica", self._step, idle_seconds=check_seconds)
        self.worker.detail = "degraded: not checked yet; reads go to the primary"

    async def read(self, call: Callable[[S], Awaitable[R]], primary: S,
                   replica: Callable[[PostgresEventStore], S]) -> R:
        """``call`` on the replica's adapter (``replica`` builds it over the replica's store)
        when the current scope may and can use it, else on ``primary``'s."""
        scope = current_scope()
        if scope is None or not scope.replica_allowed or self.replica is None or not (
                await self._choose(scope)):
            self.served[PRIMARY] += 1
            return await call(primary)
        try:
            result = await call(replica(self.replica))
        except (*PG_ERRORS, LedgerError) as e:  # whatever it was, the primary answers it
            if _unreachable(e):
                self._down(f"unreachable ({type(e).__name__})")
            scope.source = PRIMARY
            self.served[PRIMARY] += 1
            return await call(primary)
        self.served[REPLICA] += 1
        return result

    async def _choose(self, scope: ReadScope) -> bool:
        if scope.source is None:
            fresh = self.up
            if fresh and (scope.current or scope.after is not None):
                after = scope.after or 0
                if scope.current or after > self._replayed:
                    # A client's position is bounded by the primary's: every write it was
                    # told of is before it. One beyond it (made up, or from another cluster)
                    # would hold the read for catch_up_seconds and then send it to the
                    # primary for nothing, so it is clamped; the primary is asked only when
                    # the replica is not already known to be past the position.
                    now = await self.write_position()
                    after = now if scope.current else min(after, now)
                fresh = await self._reached(after)
            scope.source = REPLICA if fresh else PRIMARY
        return scope.source == REPLICA and self.up

    async def write_position(self) -> int:
        """The primary's WAL insert position now: every write acknowledged so far is before
        it (what a client hands back as ``Ledger-Read-After``)."""
        try:
            return parse_lsn(await self.primary.fetchval(
                "SELECT pg_current_wal_insert_lsn()::text"))
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e

    async def _reached(self, after: int) -> bool:
        """Whether the replica has replayed up to ``after``, waiting up to catch_up_seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.catch_up_seconds
        polls = 0
        while self._replayed < after:
            if self.replica is None or not self.up:
                return False
            try:
                standby = await self._probe(self.replica)
            except (*PG_ERRORS, LedgerError) as e:
                self._down(f"unreachable ({type(e).__name__})")
                return False
            if not standby:
                self._down("not a standby (promoted, or not a replica)")
                return False
            remaining = deadline - loop.time()
            if self._replayed >= after or remaining <= 0:
                break
            await asyncio.sleep(min(remaining, _POLL_SECONDS[min(polls, len(_POLL_SECONDS) - 1)]))
            polls += 1
        return self._replayed >= after

    async def _probe(self, replica: PostgresEventStore) -> bool:
        """Read whether the replica is a standby and how far it has replayed."""
        row = await replica.pool.fetchrow(
            "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text",
            timeout=COMMAND_SECONDS)
        if row is None or not row[0] or row[1] is None:
            return False
        self._replayed = max(self._replayed, parse_lsn(row[1]))
        return True

    async def check(self) -> None:
        """Connect if not yet connected, then probe: up when the replica answers as a
        standby, down (reads on the primary) otherwise."""
        try:
            if self.replica is None:
                pool = await create_pool(self._dsn, self._timeouts, min_size=1, max_size=20)
                self.replica = PostgresEventStore(pool, self._timeouts)
            if not await self._probe(self.replica):
                self._down("not a standby (promoted, or not a replica)")
                return
            # Where the primary stood at the last check: a replica that has not replayed that
            # far is more than one interval behind, and reads without a token would see a
            # state that old, so it waits out of service until it has caught up.
            lagging = self._replayed < self._primary_before
            self._primary_before = await self.write_position()
            behind = max(0, self._primary_before - self._replayed)
        except (*PG_ERRORS, LedgerError) as e:
            self._down(f"unreachable ({type(e).__name__})")
            return
        if lagging:
            self._down(f"behind: {behind} bytes of WAL not replayed")
            return
        if not self.up:
            log.info("read replica streaming; reads of GET requests go to it")
        self.up = True
        self.worker.detail = (f"streaming: replayed to {format_lsn(self._replayed)}, "
                              f"{behind} bytes behind the primary")

    def _down(self, why: str) -> None:
        if self.up:
            log.warning("read replica degraded (%s): reads go to the primary", why)
        self.up = False
        self.worker.detail = f"degraded: {why}; reads go to the primary"

    async def _step(self) -> int:
        await self.check()
        return 0

    async def close(self) -> None:
        """Close the replica's pool (the primary's is the event store's)."""
        if self.replica is not None:
            await self.replica.close()


async def open_replica_route(store: EventStore, url: str | None) -> ReplicaRoute | None:
    """The route to the replica ``url`` names (None: no replica, every read on the primary),
    checked once; a replica that does not answer yet leaves reads on the primary until the
    monitor finds it. ConfigurationError unless both databases are PostgreSQL."""
    if url is None:
        return None
    if not is_postgres_url(url) or not isinstance(store, PostgresEventStore):
        raise ConfigurationError("LEDGER_READ_DATABASE_URL is a postgresql:// streaming replica "
                                 "of a postgresql:// LEDGER_DATABASE_URL")
    # Bound as the primary's pool (a hung replica costs a read the wait, then the primary
    # answers), its connect at most CONNECT_SECONDS: the monitor probes every few seconds.
    own = store.timeouts
    route = ReplicaRoute(store.pool, url, timeouts=DatabaseTimeouts(
        min(own.connect, CONNECT_SECONDS), own.acquire or CONNECT_SECONDS,
        own.command or COMMAND_SECONDS))
    await route.check()
    return route
