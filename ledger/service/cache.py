"""An in-process cache of verified aggregates, so a command does not replay whole streams.

Entries hold the aggregate as of its last verified (or just appended) version, with that
version's event hash to chain the next rows onto. They are kept packed (one bytes object
each, ``ledger.aggregates.packed``: under half the memory of the objects, and nothing for the
cyclic collector to walk), so ``get`` and ``peek`` hand out new aggregates and a command that
fails half-way never leaves a mutated aggregate in the cache.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.aggregates.departure import ENDED_STATES, Departure
from ledger.aggregates.item import HandoverItem
from ledger.aggregates.packed import pack, unpack


@dataclass(frozen=True)
class Cached:
    """A verified aggregate and the hash of its last event."""

    aggregate: Aggregate
    last_hash: bytes


# (version, packed aggregate, last hash): a plain tuple of untracked values, which the
# cyclic collector stops tracking once it has seen it.
_Packed = tuple[int, bytes, bytes]

DEFAULT_MAX_ENTRIES = 10_000  # Settings.aggregate_cache_size, LEDGER_AGGREGATE_CACHE_SIZE
GONE_REMEMBERED = 4_096  # streams of ended cases whose last version ``put`` still checks


class AggregateCache:
    """Least-recently-used map of stream id → Cached, of at most ``max_entries`` entries (0:
    nothing is kept, every command replays its streams). An evicted stream is read afresh
    from the store (and verified) the next time a command needs it."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 0:
            raise ValueError("an aggregate cache cannot hold fewer than 0 entries")
        self.max_entries = max_entries
        self._entries: OrderedDict[UUID, _Packed] = OrderedDict()
        # the version each stream had when ``settle`` let it go (its case over), so that a
        # command that read it before the close cannot put the older state back (what the
        # version check of ``put`` does for a stream still held); a few recent ones suffice
        self._gone: OrderedDict[UUID, int] = OrderedDict()

    def get(self, stream_id: UUID) -> Cached | None:
        """The cached aggregate, unpacked (the caller's own), or None."""
        found = self._entries.get(stream_id)
        if found is None:
            return None
        self._entries.move_to_end(stream_id)
        return Cached(unpack(found[1]), found[2])

    def peek(self, stream_id: UUID) -> Cached | None:
        """As ``get``: for a command that only reads the aggregate (``UnitOfWork.get(
        read_only=True)`` still checks that it does not change it)."""
        return self.get(stream_id)

    def put(self, aggregate: Aggregate, last_hash: bytes) -> None:
        """Remember ``aggregate`` as it is now, without its pending events (later changes to
        the object do not reach the cache)."""
        current = self._entries.get(aggregate.id)
        if current is not None and current[0] > aggregate.version:
            return
        if self._gone and self._gone.get(aggregate.id, 0) >= aggregate.version:
            return
        self._entries[aggregate.id] = (aggregate.version, pack(aggregate), last_hash)
        self._entries.move_to_end(aggregate.id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def settle(self, written: Iterable[tuple[Aggregate, bytes]],
               read: Iterable[Aggregate] = ()) -> None:
        """After an append: each ``written`` aggregate (with its last event's hash) is the
        cache's new truth, except that a case that is over (closed, withdrawn, declined) leaves
        the cache with every item of it the command loaded, written or only read. So the cache
        follows the open work instead of filling with finished cases until the LRU pushes
        them out; a later command on one (a dispute after the close) reads it afresh."""
        written = list(written)
        loaded = [*read, *(aggregate for aggregate, _ in written)]
        over = {str(a.id) for a in loaded
                if isinstance(a, Departure) and a.state in ENDED_STATES}
        for aggregate, last_hash in written:
            if not of_cases(aggregate, over):
                self.put(aggregate, last_hash)
        for aggregate in loaded:
            if of_cases(aggregate, over):
                self.evict(aggregate.id)
                self._gone[aggregate.id] = aggregate.version
                self._gone.move_to_end(aggregate.id)
        while len(self._gone) > GONE_REMEMBERED:
            self._gone.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def held(self) -> tuple[int, int]:
        """Entries, and the bytes of their packed aggregates (``/metrics``)."""
        return len(self._entries), sum(len(e[1]) for e in self._entries.values())

    def __contains__(self, stream_id: object) -> bool:
        return stream_id in self._entries

    def evict(self, stream_id: UUID) -> None:
        """Forget one stream (after a conflict showed the cache was stale)."""
        self._entries.pop(stream_id, None)


def of_cases(aggregate: Aggregate, cases: set[str]) -> bool:
    """Whether ``aggregate`` is one of ``cases`` (departure ids) or an item of one."""
    if not cases:
        return False
    if isinstance(aggregate, HandoverItem):
        return aggregate.departure_id in cases
    return str(aggregate.id) in cases
