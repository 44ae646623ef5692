"""The leadership port: roles (``projection:board``, ``webhooks:dispatcher``, ``scheduler``)
that one process at a time leads, held on one database session of the process's own.

PostgreSQL holds each role as a session-level advisory lock on a dedicated connection: a
process that dies (SIGKILL included) loses its connection, and the server releases its locks
with it. The same session listens for the log's growth (``NOTIFY`` from the sequencer's
commit), so a read model led in one process follows appends sequenced in another. SQLite
has no adapter: one process serves an SQLite file (``ledger serve`` refuses a second) and
leads everything.

Leadership is an economy, not the guard: the projections' row lock, the dispatcher's claim
lock and the scheduler's idempotency keys keep two processes that both believe they lead
(for the moment a lost session takes to be noticed) from doing anything twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class LeaseStore(Protocol):
    """One database session holding this process's roles."""

    async def open(self, on_lost: Callable[[], None], on_log_grown: Callable[[], None]) -> None:
        """Open the session: ``on_lost`` is called when it ends (every role with it), and
        ``on_log_grown`` each time a sequencer, in any process, commits a batch."""

    async def check(self) -> None:
        """Raise (a LedgerError) unless the session still answers."""

    async def try_take(self, role: str) -> bool:
        """Take ``role`` if no session holds it; True when this one does now."""

    async def give_up(self, role: str) -> None:
        """Release ``role`` (held by this session)."""

    async def close(self) -> None:
        """End the session, releasing every role (safe to call when not open)."""
