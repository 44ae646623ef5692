"""One ``ledger serve`` per SQLite file: SQLite has no server to hold leadership, and two
processes each running the sequencer, the read models, the dispatcher and the scheduler over
one file would only take turns on its write lock. The serving process holds an exclusive
``flock`` on a file beside the database for its lifetime; the kernel releases it when the
process ends, however it ends (SIGKILL included), so a restart never finds a stale lock.
The CLI's other commands (verify, export, backup) do not take it."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from ledger.errors import ConfigurationError


def owner_file(database: Path) -> Path:
    """The lock file beside ``database``."""
    return database.with_name(database.name + ".serving")


@contextlib.contextmanager
def serve_alone(database: Path, *, restoring: bool = False) -> Iterator[None]:
    """Hold the SQLite file ``database`` for this process's ``ledger serve`` (``restoring``:
    for ``ledger restore``, so no service runs on it while it is replaced).

    Raises ConfigurationError when another process serves it already.
    """
    path = owner_file(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            if restoring:
                raise ConfigurationError(serving_refusal(str(database), f"pid {holder}")) \
                    from None
            raise ConfigurationError(
                f"another ledger serve (pid {holder}) already serves {database}: an SQLite "
                "database is served by one process; to run several, use PostgreSQL "
                "(LEDGER_DATABASE_URL=postgresql://...)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def serving_refusal(where: str, who: str) -> str:
    """Why a restore into a database a service is serving is refused."""
    return (f"a ledger serve ({who}) is serving {where}: stop it (every service using the "
            "database) before restoring into it. A service left running keeps the state it "
            "had in memory: its next writes would break the restored chains and its log "
            "would contradict the checkpoints it published")
