"""Aggregates as of the projection's position, folded event by event from the log.

The folder keeps recent aggregates at the version it last applied; an event whose previous
version is not held (after a restart, or once evicted) is preceded by a replay of the
stream's entries below its version, read in the projection's own transaction. Each row a
projector writes is therefore the aggregate exactly as of the event's log position. Held
aggregates are packed (``ledger.aggregates.packed``): thousands of them as objects cost more
than twice the memory, and every full collection of the cyclic collector walked them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from eventsourcing.domain import Aggregate

from ledger.aggregates.codec import decode_event, replay
from ledger.aggregates.packed import pack, unpack
from ledger.entry import Entry, decode_entry
from ledger.store.projection_port import ProjectionTx

CAPACITY = 10_000  # Settings.board_cache_size, LEDGER_BOARD_CACHE_SIZE


class Folder:
    """Recent aggregates by stream id, each at the last version applied (packed, with that
    version)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._held: OrderedDict[str, tuple[int, bytes]] = OrderedDict()

    def clear(self) -> None:
        self._held.clear()

    def held(self) -> tuple[int, int]:
        """Streams held, and the bytes of their packed aggregates (``/metrics``)."""
        return len(self._held), sum(len(h[1]) for h in self._held.values())

    def forget(self, stream_ids: Iterable[str]) -> None:
        """Drop these streams (a later event of one replays it from the log)."""
        for key in stream_ids:
            self._held.pop(key, None)

    async def fold(self, tx: ProjectionTx, entry: Entry) -> Aggregate:
        """The aggregate of ``entry``'s stream once ``entry`` is applied."""
        key = str(entry.stream_id)
        held = self._held.pop(key, None)
        if entry.version == 1:
            base = None
        elif held is not None and held[0] == entry.version - 1:
            base = unpack(held[1])
        else:
            base = replay(await _earlier(tx, entry))
        aggregate = decode_event(entry).mutate(base)
        if aggregate is None:  # eventsourcing types mutate as Optional; ours never are
            raise TypeError(f"{entry.event_type} left no aggregate")
        self._held[key] = (aggregate.version, pack(aggregate))
        if len(self._held) > self.capacity:
            self._held.popitem(last=False)
        return aggregate


async def _earlier(tx: ProjectionTx, entry: Entry) -> list[Entry]:
    rows = await tx.fetch("SELECT entry, event_hash FROM events WHERE stream_id = $1 "
                          "AND version < $2 ORDER BY version", entry.stream_id,
                          entry.version)
    return [decode_entry(bytes(r["entry"]), bytes(r["event_hash"]), strict=False)
            for r in rows]

