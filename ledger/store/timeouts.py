"""How long the PostgreSQL adapters wait on the database (LEDGER_DB_*_TIMEOUT_SECONDS).

A database whose processes hang (a network partition, a frozen host) accepts a TCP connection
and then answers nothing; without a bound, every request waits for it for minutes (the
kernel's retransmission timeout). These bounds turn that wait into a ``TimeoutError``, which
``ledger.store.postgres.map_postgres_error`` maps to a PushbackError (HTTP 503 + Retry-After;
a worker backs off and tries again). Operator commands (migrations, backups, ``ledger
verify``, rebuilds) run statements that may rightly take longer than any request should, so
they keep the connect bound only (``for_admin``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_CONNECT_SECONDS = 5.0
DEFAULT_ACQUIRE_SECONDS = 5.0
DEFAULT_COMMAND_SECONDS = 15.0  # well above a request's slowest statement under load


@dataclass(frozen=True)
class DatabaseTimeouts:
    """Seconds to open a connection (``connect``), to wait for a pooled one (``acquire``,
    which includes opening it) and for one statement's answer (``command``); None: no bound.
    Preconditions: every bound given is positive."""

    connect: float = DEFAULT_CONNECT_SECONDS
    acquire: float | None = DEFAULT_ACQUIRE_SECONDS
    command: float | None = DEFAULT_COMMAND_SECONDS

    def for_admin(self) -> DatabaseTimeouts:
        """The bounds of operator commands: the same ``connect``, no other."""
        return DatabaseTimeouts(self.connect, None, None)

    def connect_arguments(self) -> dict[str, Any]:
        """The keyword arguments of ``asyncpg.connect`` (and of a pool's connections)."""
        return {"timeout": self.connect, "command_timeout": self.command}


SERVICE = DatabaseTimeouts()  # the defaults of LEDGER_DB_*_TIMEOUT_SECONDS
ADMIN = SERVICE.for_admin()
