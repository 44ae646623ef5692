"""One contract, every store: an append commits only if its read dependencies are unchanged
(ledger.store.port), as of the commit, and dependents of one stream do not block each other."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from ledger.errors import ConflictError
from ledger.store.port import (
    DependencyChangedError,
    EventStore,
    IdempotencyRecord,
    ReadDependency,
)
from ledger.store.postgres import PostgresEventStore
from ledger.store.postgres_batch import lock_key
from ledger.store.sqlite import SQLiteEventStore
from tests.support.events import chain, make_event


async def test_append_whose_dependency_is_unchanged_commits(store: EventStore) -> None:
    watched, writer = uuid.uuid4(), uuid.uuid4()
    await store.append(chain(watched, 2))
    await store.append(chain(writer, 1), depends_on=[ReadDependency(watched, 2)])
    assert [r.version for r in await store.read_stream(writer)] == [1]


async def test_append_whose_dependency_moved_is_refused_and_appends_nothing(
        store: EventStore) -> None:
    watched, writer = uuid.uuid4(), uuid.uuid4()
    first = chain(watched, 2)
    await store.append(first)
    record = IdempotencyRecord("k-" + uuid.uuid4().hex, b"h" * 32, b"{}")
    with pytest.raises(DependencyChangedError, match="decided on has changed"):
        await store.append(chain(writer, 1), record, depends_on=[ReadDependency(watched, 1)])
    assert await store.read_stream(writer) == []
    assert await store.find_idempotency(record.key) is None
    assert await store.count_events() == 2


async def test_dependency_changed_is_a_conflict(store: EventStore) -> None:
    watched = uuid.uuid4()
    await store.append(chain(watched, 1))
    with pytest.raises(ConflictError):
        await store.append(chain(uuid.uuid4(), 1), depends_on=[ReadDependency(watched, 3)])


async def test_dependency_on_an_absent_stream_holds_until_it_is_created(
        store: EventStore) -> None:
    watched = uuid.uuid4()
    await store.append(chain(uuid.uuid4(), 1), depends_on=[ReadDependency(watched, 0)])
    await store.append(chain(watched, 1))
    with pytest.raises(DependencyChangedError):
        await store.append(chain(uuid.uuid4(), 1), depends_on=[ReadDependency(watched, 0)])


async def test_every_dependency_is_checked(store: EventStore) -> None:
    kept, moved = uuid.uuid4(), uuid.uuid4()
    await store.append([*chain(kept, 1), *chain(moved, 2)])
    writer = uuid.uuid4()
    with pytest.raises(DependencyChangedError):
        await store.append(chain(writer, 1), depends_on=[ReadDependency(kept, 1),
                                                         ReadDependency(moved, 1)])
    assert await store.read_stream(writer) == []


async def test_concurrent_dependents_of_one_stream_all_commit(store: EventStore) -> None:
    shared = uuid.uuid4()
    await store.append(chain(shared, 1))
    writers = [uuid.uuid4() for _ in range(40)]
    results = await asyncio.wait_for(asyncio.gather(*(
        store.append(chain(w, 1), depends_on=[ReadDependency(shared, 1)]) for w in writers),
        return_exceptions=True), timeout=20)
    assert all(isinstance(r, list) for r in results), results
    for w in writers:
        assert len(await store.read_stream(w)) == 1


async def test_no_dependent_commits_after_its_dependency_moved(store: EventStore) -> None:
    """The race the close gate needs: one writer moves a stream while others that read it
    append; every dependent that commits is ordered before the move, none after it."""
    for _ in range(15):
        shared = uuid.uuid4()
        first = chain(shared, 1)
        await store.append(first)
        move = make_event(shared, 2, first[0].event_hash)
        writers = [uuid.uuid4() for _ in range(6)]
        jobs = [store.append(chain(w, 1), depends_on=[ReadDependency(shared, 1)])
                for w in writers]
        jobs.insert(3, store.append([move]))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        moved_at = (await store.read_stream(shared))[1].position
        for w, result in zip(writers, results[:3] + results[4:], strict=True):
            rows = await store.read_stream(w)
            if isinstance(result, BaseException):
                assert isinstance(result, DependencyChangedError), result
                assert rows == []
            else:
                assert rows[0].position < moved_at
        assert isinstance(results[3], list), results[3]


async def cross_race(first: EventStore, second: EventStore) -> list[object]:
    """Two new streams a and b; at once, ``first`` appends to a depending on b while
    ``second`` appends to b depending on a. Both outcomes (a list, or the error)."""
    a, b = uuid.uuid4(), uuid.uuid4()
    base_a, base_b = chain(a, 1), chain(b, 1)
    await first.append([*base_a, *base_b])
    return list(await asyncio.gather(
        first.append([make_event(a, 2, base_a[0].event_hash)],
                     depends_on=[ReadDependency(b, 1)]),
        second.append([make_event(b, 2, base_b[0].event_hash)],
                      depends_on=[ReadDependency(a, 1)]),
        return_exceptions=True))


async def test_a_dependent_and_the_move_of_its_dependency_never_both_commit_after_it(
        store: EventStore) -> None:
    """Two commands each depending on the stream the other appends to (a close reading an
    item, a submission reading the departure): exactly one commits, whatever the batching."""
    for _ in range(20):
        results = await cross_race(store, store)
        committed = [r for r in results if not isinstance(r, BaseException)]
        assert len(committed) == 1, results
        assert all(isinstance(r, DependencyChangedError)
                   for r in results if isinstance(r, BaseException)), results


@pytest.fixture
async def twin(store: EventStore, request: pytest.FixtureRequest) -> AsyncIterator[EventStore]:
    """A second store on the same database: another API process, with its own connections
    (and, on PostgreSQL, its own group commit)."""
    other: EventStore
    if isinstance(store, SQLiteEventStore):
        other = await SQLiteEventStore.connect(request.getfixturevalue("sqlite_path"))
    else:
        other = await PostgresEventStore.connect(request.getfixturevalue("pg_dsn"))
    try:
        yield other
    finally:
        await other.close()


async def test_two_processes_never_both_commit_on_each_others_stream(
        store: EventStore, twin: EventStore) -> None:
    """The close and the item command in two API processes: each depends on the stream the
    other appends to; the database lets exactly one of them commit."""
    for _ in range(40):
        results = await cross_race(store, twin)
        assert [isinstance(r, list) for r in results].count(True) == 1, results


async def test_postgres_dependents_share_the_stream_lock_and_writers_wait_for_it(
        postgres_store: EventStore, pg_dsn: str) -> None:
    """A stream's dependents take its lock shared, its writers exclusive: while another
    transaction holds it shared (a dependent mid-commit), dependents still commit and a writer
    to the stream waits until that transaction ends."""
    shared = uuid.uuid4()
    first = chain(shared, 1)
    await postgres_store.append(first)
    holder = await asyncpg.connect(pg_dsn)
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute("SELECT pg_advisory_xact_lock_shared($1, $2)", *lock_key(shared))
        await asyncio.wait_for(postgres_store.append(
            chain(uuid.uuid4(), 1), depends_on=[ReadDependency(shared, 1)]), timeout=5)
        writer = asyncio.ensure_future(
            postgres_store.append([make_event(shared, 2, first[0].event_hash)]))
        await asyncio.sleep(0.5)
        assert not writer.done()
        await transaction.commit()
        await asyncio.wait_for(writer, timeout=5)
    finally:
        await holder.close()
    assert [r.version for r in await postgres_store.read_stream(shared)] == [1, 2]
