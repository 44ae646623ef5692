"""The aggregate cache, the board's folder and its written items are kept packed: each entry is next
to nothing for the cyclic collector to walk (it walked a dozen objects per aggregate on every
full collection), and what comes out is the aggregate as it went in, the caller's own."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from typing import Any, cast
from uuid import uuid4

import aiosqlite
from eventsourcing.domain import Aggregate

from ledger.aggregates.departure import Departure
from ledger.aggregates.item import HandoverItem
from ledger.entry import decode_entry
from ledger.projections.board import BoardProjector
from ledger.projections.fold import Folder
from ledger.projections.runner import apply_batch
from ledger.service.cache import AggregateCache
from ledger.service.context import Actor, RequestContext
from ledger.service.unit_of_work import UnitOfWork
from ledger.store.port import EventStore, NewEvent, StoredEvent
from ledger.store.projection_port import LoggedEvent, ProjectionState, ProjectionTx
from ledger.store.sqlite_projections import SQLiteProjectionTx

HR = Actor("hr-li", "hr", "李娜")
CONTEXT = RequestContext(request_id="req-1", ip="203.0.113.7", user_agent="pytest", auth="token")
STREAMS = 300


def worked_item(k: int, departure_id: str | None = None) -> HandoverItem:
    item = HandoverItem(
        departure_id=departure_id or str(uuid4()), category="accounts_permissions",
        title=f"CRM account {k}",
        label="CRM 账号", acceptance_criteria="disabled and mailbox forwarded",
        giver_id="emp-zhang", receiver="emp-successor", mandatory=True, priority="critical",
        due_date=None, template_item_key=None)
    item.record_upload(by="emp-zhang", sha256=f"{k:064x}", size=10, name="客户.xlsx",
                       media_type="application/vnd.ms-excel")
    item.submit(by="emp-zhang", on_behalf=False, note="见附件",
                evidence=[{"sha256": f"{k:064x}", "name": "客户.xlsx", "size": 10,
                           "media_type": "application/vnd.ms-excel"}])
    item.comment(by="emp-zhang", text="已补充")
    return item


def committed(item: HandoverItem) -> list[NewEvent]:
    """The item's events encoded as the service does (collect never touches the store)."""
    uow = UnitOfWork(cast(EventStore, object()))
    uow.add(item)
    return uow.collect(HR, CONTEXT)


def state_of(aggregate: Aggregate) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


def tracked_objects_per_stream(fill: Callable[[], object]) -> float:
    """How many more objects the cyclic collector tracks while ``fill``'s result is held, per
    stream (what the caller built along the way is gone by then)."""
    gc.collect()
    before = len(gc.get_objects())
    held = fill()
    gc.collect()
    grown = len(gc.get_objects()) - before
    del held
    return grown / STREAMS


def test_a_cached_aggregate_is_next_to_nothing_for_the_collector() -> None:
    def fill() -> AggregateCache:
        cache = AggregateCache(STREAMS)
        for k in range(STREAMS):
            item = worked_item(k)
            item.collect_events()
            cache.put(item, bytes(32))
        return cache

    assert tracked_objects_per_stream(fill) < 3  # its id; held as objects: 15 or more


def test_the_cache_hands_out_the_aggregate_as_put_and_each_caller_its_own() -> None:
    cache, item = AggregateCache(), worked_item(1)
    item.collect_events()
    cache.put(item, b"h" * 32)
    first, second = cache.get(item.id), cache.peek(item.id)
    assert first is not None and second is not None
    assert state_of(first.aggregate) == state_of(item) == state_of(second.aggregate)
    assert first.last_hash == b"h" * 32 and first.aggregate is not second.aggregate
    assert first.aggregate.pending_events == []
    cast(HandoverItem, first.aggregate).comment(by="emp-zhang", text="not committed")
    item.comment(by="emp-zhang", text="nor this")
    again = cache.get(item.id)
    assert again is not None and again.aggregate.version == item.version - 1


def test_the_folder_holds_packed_aggregates_and_folds_on_them_as_a_replay_would() -> None:
    items = [worked_item(k) for k in range(STREAMS)]
    expected = [state_of(item) for item in items]
    entries = [[decode_entry(e.entry, e.event_hash) for e in committed(item)]
               for item in items]
    del items
    no_reads = cast(ProjectionTx, object())  # every earlier version is held: nothing is read

    def fold_all(folder: Folder) -> list[Aggregate]:
        async def each_stream() -> list[Aggregate]:
            last = []
            for stream in entries:
                for entry in stream:
                    aggregate = await folder.fold(no_reads, entry)
                last.append(aggregate)
            return last
        return asyncio.run(each_stream())

    def fill() -> Folder:
        folder = Folder(STREAMS)
        fold_all(folder)
        return folder

    assert tracked_objects_per_stream(fill) < 3  # its id; held as objects: 15 or more
    assert [state_of(a) for a in fold_all(Folder(STREAMS))] == expected


def test_the_boards_written_items_are_next_to_nothing_for_the_collector() -> None:
    # Two batches of every item's events on a real SQLite board: the first is written and
    # remembered, the second starts from what was remembered (it reads no row back).
    def logged(batch: list[NewEvent], start: int) -> list[LoggedEvent]:
        return [LoggedEvent(start + n, StoredEvent(start + n, e.event_id, e.stream_type,
                                                   e.stream_id, e.version, e.event_type,
                                                   e.entry, e.event_hash))
                for n, e in enumerate(batch)]

    async def project(events: list[list[NewEvent]]) -> tuple[BoardProjector, int]:
        first = [e for stream in events for e in stream[:2]]
        second = [e for stream in events for e in stream[2:]]
        board = BoardProjector(STREAMS)
        async with aiosqlite.connect(":memory:") as db:
            tx = SQLiteProjectionTx(db, ProjectionState("board", 0, 1, None, ""))
            for statement in board.schema("sqlite", 1):
                await tx.execute(statement)
            await apply_batch(board, tx, 1, logged(first, 0))
            await apply_batch(board, tx, 1, logged(second, len(first)))
            [row] = await tx.fetch("SELECT count(*) AS n FROM board_items_g1 WHERE "
                                   "state = 'submitted'")
        return board, int(row["n"])

    def histories() -> list[list[NewEvent]]:
        return [committed(worked_item(k)) for k in range(STREAMS)]

    for _ in range(2):  # the process's recent entries (bounded) full before counting
        asyncio.run(project(histories()))
    events = histories()

    def fill() -> BoardProjector:
        board, submitted = asyncio.run(project(events))
        assert submitted == STREAMS
        return board

    assert tracked_objects_per_stream(fill) < 1  # as objects: 3 each


def test_a_case_that_ends_leaves_the_boards_folder_and_written_items() -> None:
    """What the board holds follows the open work: the batch that withdraws a case drops it
    and its items (here none of them in that batch: read because the case's gate turned),
    another case's stay."""
    def case() -> Departure:
        return Departure(leaver={"id": "l"}, manager_id="m", hr_owner_id="h",
                         notice_date="2026-11-01", last_working_day="2026-11-30", reason="r",
                         approval_chain=[])

    ending, staying = case(), case()
    ending_items = [worked_item(k, str(ending.id)) for k in range(2)]
    staying_item = worked_item(2, str(staying.id))
    ending.withdraw(by="h", reason="stays")
    uow = UnitOfWork(cast(EventStore, object()))
    for aggregate in (ending, staying, *ending_items, staying_item):
        uow.add(aggregate)
    events = uow.collect(HR, CONTEXT)
    [withdrawn] = [e for e in events if e.event_type == "DepartureWithdrawn"]
    before = [e for e in events if e is not withdrawn]
    logged = [LoggedEvent(n, StoredEvent(n, e.event_id, e.stream_type, e.stream_id,
                                         e.version, e.event_type, e.entry, e.event_hash))
              for n, e in enumerate([*before, withdrawn])]

    async def project() -> BoardProjector:
        board = BoardProjector(STREAMS)
        async with aiosqlite.connect(":memory:") as db:
            tx = SQLiteProjectionTx(db, ProjectionState("board", 0, 1, None, ""))
            for statement in board.schema("sqlite", 1):
                await tx.execute(statement)
            await apply_batch(board, tx, 1, logged[:-1])
            assert {str(a.id) for a in ending_items} <= {i for _, i in board._written}
            await apply_batch(board, tx, 1, logged[-1:])
        return board

    board = asyncio.run(project())
    gone = {str(ending.id), *(str(a.id) for a in ending_items)}
    assert not gone & set(board.folder._held)
    assert not gone & {i for _, i in board._written}
    assert {str(staying.id), str(staying_item.id)} <= set(board.folder._held)
    assert (1, str(staying_item.id)) in board._written
