"""SQLite through its online backup API (the adapter: sqlite3's errors are mapped here).

A backup copies the database page by page inside one read transaction held on the source
connection, so the copy is the snapshot that transaction sees, while the service keeps writing
(WAL: readers never block writers, and the steps never restart). The copy is then switched out
of WAL into one self-contained file. A restore copies the backup's pages into the target file
the same way, under the target's own locks.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from ledger.backup.snapshot import (
    CHECKPOINT_SQL,
    CITING_SQL,
    EVENTS_SQL,
    LOG_SIZE_SQL,
    SnapshotFacts,
)
from ledger.durable import private_sqlite_file
from ledger.errors import ConfigurationError, LedgerError
from ledger.verify_files import cited_files

PAGES_PER_STEP = 4096  # 16 MiB at SQLite's default page size: progress without stalls
Pages = Callable[[int, int], None]  # (pages copied, pages in all)


def _mapped(e: sqlite3.Error, what: str) -> LedgerError:
    text = str(e)
    if "locked" in text or "busy" in text:
        return ConfigurationError(f"{what}: the database is locked by another process "
                                  f"({text}); stop the service writing to it and try again")
    return LedgerError(f"{what}: sqlite: {text}")


def _step(progress: Pages | None) -> Callable[[int, int, int], None]:
    def report(status: int, remaining: int, total: int) -> None:
        if progress is not None:
            progress(total - remaining, total)
    return report


def copy_online(source: Path, target: Path, progress: Pages | None = None) -> SnapshotFacts:
    """Copy the live database ``source`` to the new file ``target``; return what the copied
    snapshot holds. The service may keep running (it is neither blocked nor stopped)."""
    try:
        src = sqlite3.connect(source, isolation_level=None, timeout=10)
        try:
            src.execute("BEGIN")  # the snapshot: every step and fact below reads it
            facts = SnapshotFacts(src.execute(EVENTS_SQL).fetchone()[0],
                                  src.execute(LOG_SIZE_SQL).fetchone()[0],
                                  _note(src.execute(CHECKPOINT_SQL).fetchone()),
                                  frozenset(cited_files(src.execute(CITING_SQL))))
            dst = sqlite3.connect(target, isolation_level=None)
            try:
                src.backup(dst, pages=PAGES_PER_STEP, progress=_step(progress))
                dst.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
            finally:
                dst.close()
            src.execute("COMMIT")
        finally:
            src.close()
    except sqlite3.Error as e:
        raise _mapped(e, f"backing up {source}") from e
    return facts


def _note(row: tuple[bytes] | None) -> bytes | None:
    return None if row is None else bytes(row[0])


def describe_contents(target: Path) -> str | None:
    """None when ``target`` holds no database objects (absent, or empty); else what it
    holds, for the refusal message."""
    if not target.exists() or target.stat().st_size == 0:
        return None
    try:
        db = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
        try:
            names = {r[0] for r in db.execute("SELECT name FROM sqlite_master "
                                              "WHERE type = 'table'")}
            if not names:
                return None
            events = db.execute(EVENTS_SQL).fetchone()[0] if "events" in names else 0
        finally:
            db.close()
    except sqlite3.Error as e:
        raise _mapped(e, f"reading {target}") from e
    return f"{len(names)} table(s), {events} event(s)"


def restore_into(backup: Path, target: Path, progress: Pages | None = None) -> None:
    """Replace the contents of ``target`` (made if absent) with the database file
    ``backup``, page by page under the target's locks (nothing may be using it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    private_sqlite_file(target)
    try:
        src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        try:
            dst = sqlite3.connect(target, isolation_level=None, timeout=10)
            try:
                src.backup(dst, pages=PAGES_PER_STEP, progress=_step(progress))
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as e:
        raise _mapped(e, f"restoring into {target}") from e
