"""Full-ledger verification: re-hash every stored entry and walk every stream's chain.

Reads in storage order, one batch at a time, keeping only the last entry of each stream in
memory, and keeps going after a problem so one run reports every tampered place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

from ledger.chain import check_follows, verify_row
from ledger.errors import VerificationError
from ledger.store.port import EventStore

MAX_PROBLEMS = 1000
Progress = Callable[[int], None]


@dataclass
class ChainReport:
    """What ``verify_chains`` found: counts, every problem with its location, and each
    event's hash by storage position (for the log audit, so events are read only once)."""

    events: int = 0
    streams: int = 0
    problems: list[VerificationError] = field(default_factory=list)
    hashes_by_position: dict[int, bytes] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when nothing was found wrong."""
        return not self.problems


async def verify_chains(store: EventStore, progress: Progress | None = None) -> ChainReport:
    """Re-hash every entry and check every stream's chain; ``progress`` gets events done."""
    report = ChainReport()
    hashes = report.hashes_by_position
    # Per stream only the last (version, hash) is kept; None once a stream is broken.
    last: dict[UUID, tuple[int, bytes] | None] = {}
    async for row in store.iterate_all():
        report.events += 1
        hashes[row.position] = row.event_hash
        if progress is not None and report.events % 5000 == 0:
            progress(report.events)
        previous = last.get(row.stream_id, (0, None))
        try:
            entry = verify_row(row)
            if previous is not None:
                check_follows(previous[0], previous[1], entry)
                last[row.stream_id] = (entry.version, entry.event_hash)
        except VerificationError as e:
            last[row.stream_id] = None  # later links of this stream cannot be trusted
            if len(report.problems) < MAX_PROBLEMS:
                report.problems.append(e)
    if progress is not None:
        progress(report.events)
    report.streams = len(last)
    return report
