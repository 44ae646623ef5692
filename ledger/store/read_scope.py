"""Where a read may be served from, request by request (docs/scaling.md, "Read replica").

With a streaming replica (LEDGER_READ_DATABASE_URL) the routed stores
(``ledger.store.replica_stores``) send a read to the replica only inside a ``ReadScope`` that
allows it: the HTTP app opens one for each GET request. Every other read, a command's, a
worker's, the CLI's, has no scope and goes to the primary, so a decision is always taken on
the primary's state.

A scope may require its reads to reflect a write: ``after``, a PostgreSQL WAL position (LSN)
the client was handed with its write's response, or ``current``, the primary's position when
the scope's first read comes (a read that waits for a log position or an event). The replica
serves such a scope once it has replayed that far (a bounded wait), else the primary does.
The choice is taken at the scope's first routed read and kept for the rest of the request, so
one answer never mixes an older replica state into a newer primary one (except when the
replica fails mid-request: its remaining reads go to the primary, newer, never older).

No I/O here: the scope is a value in a context variable, LSNs are parsed and formatted.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from ledger.errors import InvalidInputError

PRIMARY = "primary"
REPLICA = "replica"
# PostgreSQL's pg_lsn text form: two hex numbers of up to 32 bits each (``16/B374D848``).
_LSN = re.compile(r"([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})")


@dataclass
class ReadScope:
    """What the reads of one request may see. ``source`` is set (``PRIMARY`` or ``REPLICA``)
    by the first routed read and kept; ``after`` and ``current`` are requirements on the
    replica (see the module docstring)."""

    replica_allowed: bool
    after: int | None = None
    current: bool = False
    source: str | None = None


class WritePositions(Protocol):
    """Where the primary's WAL stands (ledger.store.postgres_replica.ReplicaRoute)."""

    async def write_position(self) -> int:
        """The primary's WAL position now: every write acknowledged so far is before it."""
        ...


_SCOPE: ContextVar[ReadScope | None] = ContextVar("ledger_read_scope", default=None)


@contextlib.contextmanager
def reading(scope: ReadScope) -> Iterator[ReadScope]:
    """Run the enclosed code (and the tasks it starts) under ``scope``."""
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)


def current_scope() -> ReadScope | None:
    """The scope of the code running now; None outside any (the primary serves)."""
    return _SCOPE.get()


def require_current() -> None:
    """The reads from here on must reflect the primary as it is now: a read that waits for a
    write it was told of (a log position, an event) or builds on what it just read from the
    primary (a bundle's case). Outside a scope, reads are the primary's anyway."""
    scope = _SCOPE.get()
    if scope is not None and scope.replica_allowed and not (
            scope.current and scope.source is not None):
        scope.current = True
        scope.source = None  # decide again at the next read


def parse_lsn(text: str) -> int:
    """A WAL position from its pg_lsn text form; InvalidInputError when it is not one."""
    match = _LSN.fullmatch(text.strip())
    if match is None:
        raise InvalidInputError("a read-after token is a WAL position such as 0/3000148")
    return int(match[1], 16) << 32 | int(match[2], 16)


def format_lsn(lsn: int) -> str:
    """The pg_lsn text form of ``lsn`` (precondition: 0 <= lsn < 2**64)."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"
