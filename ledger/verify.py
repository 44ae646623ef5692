"""Full-ledger verification: re-hash every stored entry and walk every stream's chain.

Reads in storage order, one batch at a time, keeping only the last entry of each stream in
memory, and keeps going after a problem so one run reports every tampered place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

from ledger.chain import check_link, verify_row
from ledger.entry import Entry
from ledger.errors import VerificationError
from ledger.store.port import EventStore

MAX_PROBLEMS = 1000
Progress = Callable[[int], None]


@dataclass
class ChainReport:
    """What ``verify_chains`` found: counts, and every problem with its location."""

    events: int = 0
    streams: int = 0
    problems: list[VerificationError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was found wrong."""
        return not self.problems


async def verify_chains(store: EventStore, progress: Progress | None = None) -> ChainReport:
    """Re-hash every entry and check every stream's chain; ``progress`` gets events done."""
    report = ChainReport()
    last: dict[UUID, Entry | None] = {}
    async for row in store.iterate_all():
        report.events += 1
        if progress is not None and report.events % 1000 == 0:
            progress(report.events)
        broken = row.stream_id in last and last[row.stream_id] is None
        try:
            entry = verify_row(row)
            if not broken:
                check_link(last.get(row.stream_id), entry)
            last[row.stream_id] = entry if not broken else None
        except VerificationError as e:
            last[row.stream_id] = None  # later links of this stream cannot be trusted
            if len(report.problems) < MAX_PROBLEMS:
                report.problems.append(e)
    if progress is not None:
        progress(report.events)
    report.streams = len(last)
    return report
