"""Entries this process wrote or decoded lately, by event hash, for its own log followers.

The read models of one process (the board, the webhook outbox) follow the log, and under load
nearly every entry they read was encoded, a few milliseconds earlier, by this very process's
commands. Decoding it again (hash, parse, check the envelope, parse ids and time) cost the
board 30–47 µs an entry. So a command's committed events are kept here, as they were
appended, and a follower reading one of them takes it from here: the decode is then a JSON
parse of bytes known to be well formed.

Why this weakens no integrity check: a follower asks with the log row's own ``event_hash``
and its own entry bytes, and is served from here only when the kept bytes are equal to those
(so they are the log's bytes) under that very hash, which this process computed from them
(SHA-256) when it encoded them. Those bytes were built by ``ledger.entry.encode_entry`` from
checked JSON values (canonical, the fixed envelope), so decoding them would succeed and give
what this gives. Anything else (another process's entries, those from before a restart,
evicted ones, bytes that differ) is decoded and hash-checked as before.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC

import orjson

from ledger.entry import Entry, decode_entry
from ledger.store.port import NewEvent

# Followers lag ~0.1-0.3 s; 1,024 entries are 20 s of commits under scripts/load.py and a
# second or more at the command rates bench_http reaches. Each costs ~3-5 KiB once a follower
# has decoded it (the bytes, and the entry as parsed): 4,096 of them held ~20 MiB.
DEFAULT_LIMIT = 1024


class RecentEntries:
    """Least-recently-added map of event hash → the entry as written (NewEvent) or decoded
    (Entry), of at most ``limit`` members."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._kept: OrderedDict[bytes, Entry | NewEvent] = OrderedDict()
        self.served_from_writes = 0  # entries a follower took without decoding them

    def wrote(self, events: Iterable[NewEvent]) -> None:
        """Keep the events a command of this process has just committed (as written: nothing
        is decoded unless a follower asks)."""
        kept = self._kept
        for event in events:
            kept[event.event_hash] = event
        while len(kept) > self.limit:
            kept.popitem(last=False)

    def entry(self, event_hash: bytes, raw: bytes) -> Entry:
        """The entry stored as ``raw`` under ``event_hash`` (the log row's columns), decoded.

        Precondition: none; bytes that do not hash to ``event_hash`` raise VerificationError
        (unless they are bytes this process encoded and hashed itself: see the module)."""
        found = self._kept.get(event_hash)
        if isinstance(found, NewEvent) and found.entry == raw:
            entry = _from_written(found)
            self.served_from_writes += 1
        elif isinstance(found, Entry) and found.raw == raw:
            return found
        else:
            entry = decode_entry(raw, event_hash, strict=False)
        self._kept[event_hash] = entry
        while len(self._kept) > self.limit:
            self._kept.popitem(last=False)
        return entry


def _from_written(event: NewEvent) -> Entry:
    # The envelope's fields are the values encode_entry wrote; the JSON members are parsed
    # from the bytes, so the follower holds what a decode gives (lists, fresh dicts), never
    # the command's own objects.
    doc = orjson.loads(event.entry)
    prev = doc["prev"]
    return Entry(
        event_id=event.event_id, stream_type=event.stream_type, stream_id=event.stream_id,
        version=event.version, event_type=event.event_type,
        recorded_at=event.recorded_at.astimezone(UTC), actor=doc["actor"],
        context=doc["context"], payload=doc["payload"],
        prev=bytes.fromhex(prev) if prev is not None else None,
        raw=event.entry, event_hash=event.event_hash,
    )


RECENT = RecentEntries()  # one per process: its commands fill it, its followers read it
