"""What a database snapshot says about its log, read inside the snapshot the backup copies
(so the manifest describes exactly the database part): the same three statements on both
stores, each adapter running them in its own snapshot transaction."""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.verify_files import FILE_EVENTS

EVENTS_SQL = "SELECT count(*) FROM events"
LOG_SIZE_SQL = "SELECT count(*) FROM log_entries"
CHECKPOINT_SQL = "SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1"
# The rows citing a file, shaped as ledger.store.port.AuditRow (the types are constants).
_FILE_TYPES = ", ".join(f"'{t}'" for t in FILE_EVENTS)
CITING_SQL = ("SELECT position, event_id, stream_type, stream_id, version, event_type, "  # noqa: S608
              f"event_hash, entry FROM events WHERE event_type IN ({_FILE_TYPES})")


@dataclass(frozen=True)
class SnapshotFacts:
    """Events stored, log entries, the latest signed checkpoint's note (or None), the
    SHA-256 of every evidence file an event cites and, when the files are rows of the same
    database, those of them it lacks."""

    events: int
    log_size: int
    checkpoint: bytes | None
    cited: frozenset[str] = field(default_factory=frozenset)
    missing: frozenset[str] = field(default_factory=frozenset)

    def origin(self, default: str) -> str:
        """The log's name: the checkpoint's first line, else ``default``."""
        if self.checkpoint is None:
            return default
        return self.checkpoint.split(b"\n", 1)[0].decode("utf-8", "replace")
