"""One contract, every store (SQLite and PostgreSQL): the invariants of ledger.store.port."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from ledger.errors import ConflictError
from ledger.store.port import EventStore, IdempotencyRecord, KeyTakenError
from tests.support.events import chain, make_event


async def test_appended_entries_read_back_byte_for_byte(store: EventStore) -> None:
    stream = uuid.uuid4()
    events = chain(stream, 3)
    positions = await store.append(events)
    rows = await store.read_stream(stream)
    assert [r.entry for r in rows] == [e.entry for e in events]
    assert [r.event_hash for r in rows] == [e.event_hash for e in events]
    assert [r.position for r in rows] == positions == sorted(positions)
    assert [r.version for r in rows] == [1, 2, 3]


async def test_unknown_stream_reads_empty(store: EventStore) -> None:
    assert await store.read_stream(uuid.uuid4()) == []


async def test_stale_version_raises_conflict_and_appends_nothing(store: EventStore) -> None:
    stream = uuid.uuid4()
    first = chain(stream, 2)
    await store.append(first)
    other = uuid.uuid4()
    batch = [*chain(other, 1), make_event(stream, 2, first[0].event_hash)]
    with pytest.raises(ConflictError):
        await store.append(batch)
    assert await store.read_stream(other) == []
    assert await store.count_events() == 2


async def test_racing_writers_for_one_version_exactly_one_wins(store: EventStore) -> None:
    stream = uuid.uuid4()
    base = chain(stream, 1)
    await store.append(base)
    rivals = [make_event(stream, 2, base[0].event_hash, {"by": str(i), "text": "race"})
              for i in range(8)]
    results = await asyncio.gather(*(store.append([e]) for e in rivals),
                                   return_exceptions=True)
    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(r, ConflictError) for r in results if isinstance(r, BaseException))
    assert len(await store.read_stream(stream)) == 2


async def test_every_append_queues_its_events_for_the_sequencer(store: EventStore) -> None:
    positions = await store.append(chain(uuid.uuid4(), 2))
    positions += await store.append(chain(uuid.uuid4(), 1))
    assert await store.queued_positions() == positions


async def test_idempotency_record_commits_with_the_events(store: EventStore) -> None:
    record = IdempotencyRecord("actor\x1fkey-1", b"\x01" * 32, b'{"ok":true}')
    await store.append(chain(uuid.uuid4(), 1), record)
    assert await store.find_idempotency("actor\x1fkey-1") == record
    assert await store.find_idempotency("actor\x1fother") is None


async def test_taken_idempotency_key_rolls_back_the_whole_append(store: EventStore) -> None:
    record = IdempotencyRecord("k", b"\x01" * 32, b"{}")
    await store.append(chain(uuid.uuid4(), 1), record)
    loser = uuid.uuid4()
    with pytest.raises(KeyTakenError):
        await store.append(chain(loser, 1), record)
    assert await store.read_stream(loser) == []
    assert len(await store.queued_positions()) == 1


async def test_read_all_pages_in_position_order(store: EventStore) -> None:
    for _ in range(5):
        await store.append(chain(uuid.uuid4(), 2))
    first = await store.read_all(0, 4)
    rest = await store.read_all(first[-1].position, 100)
    everything = [r async for r in store.iterate_all(batch=3)]
    assert [r.position for r in first + rest] == [r.position for r in everything]
    assert len(everything) == await store.count_events() == 10


async def test_stream_ids_lists_streams_of_one_type(store: EventStore) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    await store.append(chain(a, 2))
    await store.append(chain(b, 1))
    assert await store.stream_ids("item") == [a, b]
    assert await store.stream_ids("departure") == []


async def test_migrate_twice_is_harmless(store: EventStore) -> None:
    await store.append(chain(uuid.uuid4(), 1))
    await store.migrate()
    assert await store.count_events() == 1


async def test_a_conflicting_append_never_fails_concurrent_appends(store: EventStore) -> None:
    taken = uuid.uuid4()
    first = chain(taken, 1)
    await store.append(first)
    others = [chain(uuid.uuid4(), 2) for _ in range(10)]
    clash = [make_event(taken, 1, None)]
    results = await asyncio.gather(*(store.append(b) for b in [*others[:5], clash, *others[5:]]),
                                   return_exceptions=True)
    assert isinstance(results[5], ConflictError)
    assert all(isinstance(r, list) and len(r) == 2 for i, r in enumerate(results) if i != 5)
    assert await store.count_events() == 1 + 20
