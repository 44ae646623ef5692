"""A process's followers take the entries its own commands wrote without decoding them, get
exactly what a decode gives, and never take bytes other than the log's under a hash."""

from __future__ import annotations

import datetime as dt
import tracemalloc
import uuid

import pytest

from ledger.entry import decode_entry, encode_entry
from ledger.errors import VerificationError
from ledger.recent_entries import RecentEntries
from ledger.store.port import NewEvent

WHEN = dt.datetime(2026, 12, 6, 9, 30, 1, 123456, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def written(version: int = 2, text: str = "客户名单已交接") -> NewEvent:
    stream_id, event_id = uuid.uuid4(), uuid.uuid4()
    raw, event_hash = encode_entry(
        event_id=event_id, stream_type="item", stream_id=stream_id, version=version,
        event_type="ItemCommented", recorded_at=WHEN,
        actor={"id": "hr.sun", "role": "hr"}, context={"request_id": "r1", "ip": None},
        payload={"text": text, "lines": ["a", "b"], "n": 3},
        prev=bytes(range(32)) if version > 1 else None)
    return NewEvent(event_id, "item", stream_id, version, "ItemCommented", WHEN, raw,
                    event_hash)


@pytest.mark.parametrize("version", [1, 2])
def test_an_entry_this_process_wrote_is_served_as_a_decode_would_give_it(version: int) -> None:
    recent, event = RecentEntries(), written(version)
    recent.wrote([event])
    served = recent.entry(event.event_hash, bytes(event.entry))
    assert recent.served_from_writes == 1
    assert served == decode_entry(event.entry, event.event_hash)
    assert served.recorded_at.tzinfo == dt.UTC
    assert recent.entry(event.event_hash, event.entry) is served  # the second follower
    assert recent.served_from_writes == 1


def test_other_bytes_under_a_kept_hash_are_decoded_and_refused() -> None:
    recent, event, other = RecentEntries(), written(), written(text="another comment")
    recent.wrote([event])
    with pytest.raises(VerificationError, match="hash to"):
        recent.entry(event.event_hash, other.entry)
    assert recent.served_from_writes == 0


def test_entries_not_written_here_or_evicted_are_decoded() -> None:
    recent = RecentEntries(limit=2)
    events = [written() for _ in range(3)]
    recent.wrote(events)
    for event in reversed(events):
        assert recent.entry(event.event_hash, event.entry) == decode_entry(event.entry)
    assert recent.served_from_writes == 2  # the first was evicted: decoded afresh


def test_a_process_keeps_a_few_mib_of_recent_entries_at_most() -> None:
    # Entries as large as a sales checklist item's ItemCreated (~1.3 KiB), each written and
    # read by a follower (which keeps the decoded entry), many more than the limit.
    recent = RecentEntries()
    checklist_text = "核对客户名单并移交给继任者，确认每个账户的负责人。" * 20
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(5000):
            event = written(text=checklist_text)
            recent.wrote([event])
            recent.entry(event.event_hash, event.entry)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 8 * 2**20, f"{held / 2**20:.1f} MiB held"
