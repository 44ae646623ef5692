"""What a database snapshot says about its log, read inside the snapshot the backup copies
(so the manifest describes exactly the database part): the same three statements on both
stores, each adapter running them in its own snapshot transaction."""

from __future__ import annotations

from dataclasses import dataclass

EVENTS_SQL = "SELECT count(*) FROM events"
LOG_SIZE_SQL = "SELECT count(*) FROM log_entries"
CHECKPOINT_SQL = "SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1"


@dataclass(frozen=True)
class SnapshotFacts:
    """Events stored, log entries, and the latest signed checkpoint's note (or None)."""

    events: int
    log_size: int
    checkpoint: bytes | None

    def origin(self, default: str) -> str:
        """The log's name: the checkpoint's first line, else ``default``."""
        if self.checkpoint is None:
            return default
        return self.checkpoint.split(b"\n", 1)[0].decode("utf-8", "replace")
