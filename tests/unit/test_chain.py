"""Per-stream chain verification over stored rows: every tampering is found, at the right row."""

import dataclasses
import hashlib
import json
import re
from typing import Any, cast

import pytest

from ledger.aggregates.item import HandoverItem
from ledger.canonical import encode_canonical
from ledger.chain import verify_stream
from ledger.entry import Entry, decode_entry, encode_entry
from ledger.errors import VerificationError
from ledger.service.context import Actor, RequestContext
from ledger.service.unit_of_work import UnitOfWork
from ledger.store.port import EventStore, StoredEvent


def stored_stream(events: int = 5) -> list[StoredEvent]:
    """Return the rows of one item stream with ``events`` versions, built like the service."""
    item = HandoverItem(
        departure_id="d-1", category="documents", title="Design docs", label="设计文档",
        acceptance_criteria="on the shared drive", giver_id="emp-zhang",
        receiver="emp-successor", mandatory=True, priority="normal", due_date=None,
        template_item_key=None,
    )
    for n in range(events - 1):
        item.comment(by="emp-zhang", text=f"note {n}")
    uow = UnitOfWork(cast(EventStore, object()))
    uow.add(item)
    new_events = uow.collect(Actor("emp-zhang", "employee"), RequestContext(request_id="r"))
    return [
        StoredEvent(position=100 + i, event_id=e.event_id, stream_type=e.stream_type,
                    stream_id=e.stream_id, version=e.version, event_type=e.event_type,
                    entry=e.entry, event_hash=e.event_hash)
        for i, e in enumerate(new_events)
    ]


def rewritten(row: StoredEvent, **changes: Any) -> StoredEvent:
    """Re-encode ``row``'s entry with ``changes`` and store the recomputed hash with it.

    This is what an attacker with write access to the table would do to make a row
    self-consistent.
    """
    entry = decode_entry(row.entry)
    fields: dict[str, Any] = {
        "event_id": entry.event_id, "stream_type": entry.stream_type,
        "stream_id": entry.stream_id, "version": entry.version,
        "event_type": entry.event_type, "recorded_at": entry.recorded_at,
        "actor": entry.actor, "context": entry.context, "payload": entry.payload,
        "prev": entry.prev,
    }
    fields.update(changes)
    raw, event_hash = encode_entry(**fields)
    return dataclasses.replace(row, entry=raw, event_hash=event_hash)


def forged_with_prev(row: StoredEvent, prev: bytes) -> StoredEvent:
    """Set ``prev`` in a version-1 entry (which encode_entry refuses) and recompute the hash."""
    document = json.loads(row.entry)
    document["prev"] = prev.hex()
    raw = encode_canonical(document)
    return dataclasses.replace(row, entry=raw, event_hash=hashlib.sha256(raw).digest())


def located(row: StoredEvent) -> str:
    return re.escape(f"stream {row.stream_id} version {row.version} (event {row.event_id})")


def assert_names(error: VerificationError, row: StoredEvent) -> None:
    assert error.stream_id == str(row.stream_id)
    assert error.version == row.version
    assert error.event_id == str(row.event_id)


def test_accepts_a_clean_chain_and_returns_its_entries_in_order() -> None:
    rows = stored_stream(5)

    entries = verify_stream(rows)

    assert [e.version for e in entries] == [1, 2, 3, 4, 5]
    assert [e.event_hash for e in entries] == [r.event_hash for r in rows]
    assert [e.prev for e in entries] == [None, *(r.event_hash for r in rows[:-1])]
    assert all(isinstance(e, Entry) for e in entries)


def test_accepts_a_single_event_stream_and_an_empty_one() -> None:
    assert len(verify_stream(stored_stream(1))) == 1
    assert verify_stream([]) == []


@pytest.mark.parametrize("offset", [0, 57, -2, -1])
def test_flipped_byte_in_an_entry_is_reported_with_stream_version_and_event(offset: int) -> None:
    rows = stored_stream(5)
    target = rows[2]
    entry = bytearray(target.entry)
    entry[offset] ^= 0x01
    rows[2] = dataclasses.replace(target, entry=bytes(entry))

    with pytest.raises(VerificationError, match=located(target) + ": entry bytes hash to") as e:
        verify_stream(rows)

    assert_names(e.value, target)


def test_flipped_byte_in_a_stored_hash_is_reported_at_its_row() -> None:
    rows = stored_stream(3)
    target = rows[1]
    rows[1] = dataclasses.replace(target, event_hash=bytes([target.event_hash[0] ^ 0x80])
                                  + target.event_hash[1:])

    with pytest.raises(VerificationError, match=located(target)) as e:
        verify_stream(rows)

    assert_names(e.value, target)


@pytest.mark.parametrize("missing", [2, 3, 4])
def test_dropped_middle_version_is_reported_as_missing(missing: int) -> None:
    rows = stored_stream(5)
    found = rows[missing]
    del rows[missing - 1]

    with pytest.raises(VerificationError, match=rf"version {missing} is missing \(found "
                       rf"version {missing + 1}, event {found.event_id}\)") as e:
        verify_stream(rows)

    assert_names(e.value, found)


def test_dropped_first_version_is_reported_as_missing() -> None:
    rows = stored_stream(3)

    with pytest.raises(VerificationError, match="version 1 is missing"):
        verify_stream(rows[1:])


def test_entry_bytes_swapped_between_two_rows_fail_the_hash_check_of_the_first() -> None:
    rows = stored_stream(5)
    second, third = rows[1], rows[2]
    rows[1] = dataclasses.replace(second, entry=third.entry)
    rows[2] = dataclasses.replace(third, entry=second.entry)

    with pytest.raises(VerificationError, match=located(second) + ": entry bytes hash to") as e:
        verify_stream(rows)

    assert_names(e.value, second)


def test_entries_and_hashes_swapped_between_rows_disagree_with_their_columns() -> None:
    rows = stored_stream(5)
    second, third = rows[1], rows[2]
    rows[1] = dataclasses.replace(second, entry=third.entry, event_hash=third.event_hash)
    rows[2] = dataclasses.replace(third, entry=second.entry, event_hash=second.event_hash)

    with pytest.raises(VerificationError, match=located(second) + ": entry disagrees with its "
                       "row on event id, version") as e:
        verify_stream(rows)

    assert_names(e.value, second)


def test_rows_swapped_in_order_are_reported_as_a_missing_version() -> None:
    rows = stored_stream(5)
    rows[1], rows[2] = rows[2], rows[1]

    with pytest.raises(VerificationError, match="version 2 is missing") as e:
        verify_stream(rows)

    assert_names(e.value, rows[1])
    assert e.value.version == 3


def test_rewritten_prev_with_a_recomputed_hash_is_detected_at_that_version() -> None:
    rows = stored_stream(5)
    target = rows[3]
    rows[3] = rewritten(target, prev=rows[1].event_hash)

    with pytest.raises(VerificationError, match=located(target) + re.escape(
            f": prev {rows[1].event_hash.hex()} does not match the hash of version 3 "
            f"({rows[2].event_hash.hex()})")) as e:
        verify_stream(rows)

    assert_names(e.value, target)


def test_rewritten_payload_with_a_recomputed_hash_is_detected_at_the_next_version() -> None:
    rows = stored_stream(5)
    rows[1] = rewritten(rows[1], payload={"by": "emp-zhang", "text": "I never got it"})

    with pytest.raises(VerificationError,
                       match=located(rows[2]) + ": prev .* does not match the hash of version 2"
                       ) as e:
        verify_stream(rows)

    assert_names(e.value, rows[2])


def test_first_version_given_a_prev_with_a_recomputed_hash_is_detected() -> None:
    rows = stored_stream(3)
    target = rows[0]
    rows[0] = forged_with_prev(target, bytes(32))

    with pytest.raises(VerificationError, match=located(target)
                       + ": malformed entry: prev must be null exactly for version 1") as e:
        verify_stream(rows)

    assert_names(e.value, target)


def test_entry_that_disagrees_with_its_row_columns_is_reported() -> None:
    rows = stored_stream(3)
    target = rows[1]
    rows[1] = dataclasses.replace(target, stream_type="departure", event_type="ItemWaived")

    with pytest.raises(VerificationError, match=located(target) + ": entry disagrees with its "
                       "row on stream type, event type") as e:
        verify_stream(rows)

    assert_names(e.value, target)


def test_row_from_another_stream_spliced_in_is_detected() -> None:
    rows = stored_stream(3)
    foreign = stored_stream(3)[1]
    rows[1] = dataclasses.replace(foreign, stream_id=rows[1].stream_id)

    with pytest.raises(VerificationError, match="entry disagrees with its row on stream id"):
        verify_stream(rows)

