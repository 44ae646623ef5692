"""``Ledger.execute_batch`` on every store: commands decided in order, each on the state the
earlier ones left, those that succeed committed together; per-command results and
idempotency; a conflict with another writer never fails a command that could succeed."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest

from ledger.aggregates.departure import Departure
from ledger.aggregates.item import HandoverItem
from ledger.errors import (
    ConflictError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    PreconditionFailedError,
)
from ledger.principals import Principal
from ledger.service import commands as c
from ledger.service.context import Actor
from ledger.service.ledger import CommandOutcome, Ledger
from ledger.store.factory import principal_store_for
from ledger.store.port import DependencyChangedError, EventStore, IdempotencyRecord, ReadDependency
from ledger.store.principal_port import PrincipalStore
from tests.support.events import chain, make_event

HR = Actor("hr.sun", "hr")
LEAVER = Actor("wang.lei", "employee")
SUCCESSOR = Actor("zhao.min", "employee")


def start_command() -> c.StartDeparture:
    return c.StartDeparture(
        leaver=c.Leaver(id=LEAVER.id, name="王磊", department="华东销售部", position="销售经理",
                        role_family="sales"),
        manager_id="li.qiang", hr_owner_id=HR.id, notice_date="2026-11-01",
        last_working_day="2026-11-30", reason="个人发展", approval_chain=[])


async def items_of(ledger: Ledger, count: int = 3) -> list[str]:
    """A case handing over with ``count`` items for zhao.min (added one by one)."""
    started = await ledger.execute(start_command(), HR)
    departure_id = str(started.result["departure_id"])
    await ledger.execute(c.SubmitForApproval(departure_id=departure_id), HR)
    items = []
    for n in range(count):
        added = await ledger.execute(c.AddItem(
            departure_id=departure_id, category="clients", title=f"客户资料 {n}",
            receiver=SUCCESSOR.id), HR)
        items.append(str(added.result["item_id"]))
    return items


def outcome(result: CommandOutcome | Exception) -> CommandOutcome:
    assert isinstance(result, CommandOutcome), result
    return result


async def versions(ledger: Ledger, stream_id: str) -> list[tuple[int, str]]:
    """The stream's (version, type) pairs, its chain verified on the way."""
    return [(e.version, e.event_type) for e in await ledger.entries(uuid.UUID(stream_id))]


async def test_a_failing_command_in_the_middle_does_not_stop_the_others_committing(
        ledger: Ledger, store: EventStore) -> None:
    first, second, third = await items_of(ledger)
    before = await store.count_events()
    results = await ledger.execute_batch([
        (c.CommentItem(item_id=first, text="客户名单已核对"), None),
        (c.ConfirmItem(item_id=second), None),  # open: nothing to confirm yet
        (c.CommentItem(item_id=str(uuid.uuid4()), text="no such item"), None),
        (c.StartDeparture.model_validate(start_command().model_dump()), None),
        (c.WaiveItem(item_id=third, reason="客户已流失"), None),
    ], HR)
    assert outcome(results[0]).result["item_id"] == first
    assert isinstance(results[1], InvalidTransitionError)
    assert isinstance(results[2], NotFoundError)
    assert outcome(results[3]).result["departure_id"]
    assert outcome(results[4]).result["state"] == "waived"
    assert await store.count_events() == before + 3
    assert (await versions(ledger, first))[-1] == (2, "ItemCommented")
    assert await versions(ledger, second) == [(1, "ItemCreated")]
    assert (await ledger.load(HandoverItem, third)).state == "waived"


async def test_a_repeated_batch_replays_each_keyed_command_and_appends_nothing(
        ledger: Ledger, store: EventStore) -> None:
    first, second, _ = await items_of(ledger)
    batch: list[tuple[c.Model, str | None]] = [
        (c.CommentItem(item_id=first, text="一"), "bulk-1"),
        (c.ConfirmItem(item_id=second), "bulk-2"),  # refused: no record, runs again
        (c.CommentItem(item_id=second, text="二"), "bulk-3"),
    ]
    once = await ledger.execute_batch(batch, HR)
    count = await store.count_events()
    again = await ledger.execute_batch(batch, HR)
    assert [outcome(again[n]).replayed for n in (0, 2)] == [True, True]
    assert [outcome(again[n]).body for n in (0, 2)] == [outcome(once[n]).body for n in (0, 2)]
    assert [outcome(again[n]).encoded() for n in (0, 2)] == [
        outcome(once[n]).encoded() for n in (0, 2)]
    assert isinstance(once[1], InvalidTransitionError)
    assert isinstance(again[1], InvalidTransitionError)
    assert await store.count_events() == count
    # A single request with the same key replays too; another command under it is refused.
    alone = await ledger.execute(c.CommentItem(item_id=first, text="一"), HR,
                                 idempotency_key="bulk-1")
    assert alone.replayed and alone.body == outcome(once[0]).body
    reused = await ledger.execute_batch([(c.CommentItem(item_id=first, text="改"), "bulk-1"),
                                         (c.CommentItem(item_id=first, text="三"), "bulk-4")],
                                        HR)
    assert isinstance(reused[0], IdempotencyKeyReusedError)
    assert not outcome(reused[1]).replayed
    assert await store.count_events() == count + 1


async def test_a_key_repeated_within_a_batch_runs_the_command_once(
        ledger: Ledger, store: EventStore) -> None:
    (item,) = await items_of(ledger, 1)
    before = await store.count_events()
    comment = c.CommentItem(item_id=item, text="一次")
    results = await ledger.execute_batch([(comment, "twice"), (comment, "twice"),
                                          (c.CommentItem(item_id=item, text="x"), "twice"),
                                          (comment, "bad key \n")], HR)
    assert [outcome(r).replayed for r in results[:2]] == [False, True]
    assert outcome(results[1]).encoded() == outcome(results[0]).encoded()
    assert isinstance(results[2], IdempotencyKeyReusedError)
    assert isinstance(results[3], InvalidInputError)
    assert await store.count_events() == before + 1


async def test_later_commands_see_the_effects_of_earlier_ones_on_the_same_aggregate(
        ledger: Ledger) -> None:
    item, other, _ = await items_of(ledger)
    submitted = await ledger.execute_batch([
        (c.SubmitItem(item_id=item, note="已交接"), None),
        (c.CommentItem(item_id=item, text="文件在共享盘"), None),
        (c.SubmitItem(item_id=item, note="again"), None),  # already submitted
    ], LEAVER)
    assert outcome(submitted[0]).result["state"] == "submitted"
    assert outcome(submitted[1]).body["events"][0]["version"] == 3  # type: ignore[index]
    assert isinstance(submitted[2], InvalidTransitionError)
    # If-Match inside a batch names the version the earlier commands left.
    confirmed = await ledger.execute_batch([
        (c.ConfirmItem(item_id=item, expected_version=3), None),
        (c.ConfirmItem(item_id=other, expected_version=2), None),  # it is at 1
    ], SUCCESSOR)
    assert outcome(confirmed[0]).result["state"] == "confirmed"
    assert isinstance(confirmed[1], PreconditionFailedError)
    assert await versions(ledger, item) == [
        (1, "ItemCreated"), (2, "ItemSubmitted"), (3, "ItemCommented"), (4, "ItemConfirmed")]


async def test_a_command_acts_on_the_state_an_earlier_command_of_the_batch_left(
        ledger: Ledger) -> None:
    started = await ledger.execute(start_command(), HR)
    departure_id = str(started.result["departure_id"])
    add = c.AddItem(departure_id=departure_id, category="assets", title="笔记本",
                    receiver="dept:admin")
    results = await ledger.execute_batch([
        (add, None),  # a draft takes no items yet
        (c.SubmitForApproval(departure_id=departure_id), None),  # no approvers: approved
        (add, None),
    ], HR)
    assert isinstance(results[0], InvalidTransitionError)
    item_id = str(outcome(results[2]).result["item_id"])
    departure = await ledger.load(Departure, departure_id)
    assert item_id in {str(i) for i in departure.item_ids}
    assert (await ledger.load(HandoverItem, item_id)).state == "open"


async def test_a_conflict_with_another_writer_reruns_the_batch_one_by_one(
        ledger: Ledger, store: EventStore) -> None:
    """Another process (its own cache) moves an item this process has cached: the batch is
    decided on the stale cache, its append is refused, and each command runs again alone,
    each succeeding on fresh state."""
    item, other, _ = await items_of(ledger)
    elsewhere = Ledger(store)
    await elsewhere.execute(c.CommentItem(item_id=item, text="from elsewhere"), HR)
    results = await ledger.execute_batch([
        (c.CommentItem(item_id=item, text="mine"), "conflict-1"),
        (c.CommentItem(item_id=other, text="mine too"), "conflict-2"),
    ], HR)
    assert outcome(results[0]).body["events"][0]["version"] == 3  # type: ignore[index]
    assert outcome(results[1]).body["events"][0]["version"] == 2  # type: ignore[index]
    assert [v for v, _ in await versions(ledger, item)] == [1, 2, 3]
    assert [v for v, _ in await versions(ledger, other)] == [1, 2]


async def test_a_command_refused_on_stale_staging_reruns_the_batch_on_fresh_state(
        ledger: Ledger, store: EventStore) -> None:
    """The receiver's batch comments on an item, then confirms it. This process's cache has
    the item open, but the leaver submitted it elsewhere: the confirmation, refused on the
    staged (cached) state, looks again, finds the staging stale, and the batch reruns."""
    item, _, _ = await items_of(ledger)
    await Ledger(store).execute(c.SubmitItem(item_id=item, note="已交接"), LEAVER)
    results = await ledger.execute_batch([
        (c.CommentItem(item_id=item, text="看过了"), None),
        (c.ConfirmItem(item_id=item), None),
    ], SUCCESSOR)
    assert outcome(results[1]).result["state"] == "confirmed"
    assert await versions(ledger, item) == [
        (1, "ItemCreated"), (2, "ItemSubmitted"), (3, "ItemCommented"), (4, "ItemConfirmed")]


async def test_concurrent_batches_on_the_same_items_each_commit_every_command(
        ledger: Ledger, store: EventStore) -> None:
    items = await items_of(ledger)
    before = await store.count_events()

    async def batch(tag: str) -> list[CommandOutcome | Exception]:
        return await ledger.execute_batch(
            [(c.CommentItem(item_id=i, text=f"{tag} {i}"), f"{tag}-{i}") for i in items], HR)

    results = await asyncio.gather(*(batch(f"b{n}") for n in range(3)))
    assert all(isinstance(r, CommandOutcome) for rs in results for r in rs), [
        repr(r) for rs in results for r in rs if not isinstance(r, CommandOutcome)]
    assert await store.count_events() == before + 3 * len(items)
    for item in items:
        assert [v for v, _ in await versions(ledger, item)] == [1, 2, 3, 4]


@pytest.mark.parametrize("who", [Actor("stranger", "employee"), Actor("auditor.x", "auditor")])
async def test_a_batch_authorizes_each_command_for_its_actor(
        ledger: Ledger, store: EventStore, who: Actor) -> None:
    item, _, _ = await items_of(ledger)
    before = await store.count_events()
    results = await ledger.execute_batch([(c.WaiveItem(item_id=item, reason="no"), None),
                                          (c.CommentItem(item_id=item, text="hi"), None)], who)
    assert all(isinstance(r, (ForbiddenError, NotFoundError)) for r in results), results
    assert await store.count_events() == before


# --- the store's side: several commands' events and records in one transaction ----------------

async def test_a_batch_append_commits_every_record_and_event_or_none(store: EventStore) -> None:
    records = [IdempotencyRecord(f"a\x1fk{n}", bytes([n]) * 32, b'{"n":%d}' % n)
               for n in range(3)]
    streams = [uuid.uuid4(), uuid.uuid4()]
    positions = await store.append_commands(
        [*chain(streams[0], 2), *chain(streams[1], 1)], records[:2])
    assert len(positions) == 3 and await store.queued_positions() == positions
    found = await store.find_idempotencies([r.key for r in records] + ["a\x1fnone"])
    assert found == {r.key: r for r in records[:2]}
    assert await store.find_idempotencies([]) == {}
    # One taken version refuses the whole append: the other stream and the record too.
    fresh = uuid.uuid4()
    with pytest.raises(ConflictError):
        await store.append_commands([*chain(fresh, 1), make_event(streams[1], 1, None)],
                                    records[2:])
    assert await store.read_stream(fresh) == []
    assert await store.find_idempotencies([records[2].key]) == {}


async def test_a_batch_append_checks_the_streams_it_only_read(store: EventStore) -> None:
    read, written = uuid.uuid4(), uuid.uuid4()
    await store.append(chain(read, 1))
    first = chain(written, 1)
    await store.append_commands(first, [], [ReadDependency(read, 1)])
    with pytest.raises(DependencyChangedError):
        await store.append_commands([make_event(written, 2, first[0].event_hash)], [],
                                    [ReadDependency(read, 0)])
    assert len(await store.read_stream(written)) == 1


class CountingDirectory:
    """The real principal store, counting the look-ups made through it."""

    def __init__(self, inner: PrincipalStore) -> None:
        self.inner = inner
        self.asked: Counter[str] = Counter()

    async def get_principal(self, principal_id: str) -> Principal:
        self.asked[principal_id] += 1
        return await self.inner.get_principal(principal_id)


async def test_a_batch_looks_each_named_principal_up_once(store: EventStore) -> None:
    principals = principal_store_for(store)
    for who in (HR, LEAVER, SUCCESSOR, Actor("li.qiang", "employee")):
        await principals.add_principal(Principal(who.id, who.id, ("employee", "hr")))
    directory = CountingDirectory(principals)
    ledger = Ledger(store, directory=directory)
    await ledger.install_builtin_templates()
    started = await ledger.execute(start_command(), HR)
    departure_id = str(started.result["departure_id"])
    await ledger.execute(c.SubmitForApproval(departure_id=departure_id), HR)
    directory.asked.clear()
    results = await ledger.execute_batch([
        (c.AddItem(departure_id=departure_id, category="clients", title=f"客户 {n}",
                   receiver=SUCCESSOR.id), None) for n in range(5)], HR)
    assert all(isinstance(r, CommandOutcome) for r in results), results
    assert directory.asked[SUCCESSOR.id] == 1
    await ledger.execute(c.AddItem(departure_id=departure_id, category="clients",
                                   title="客户", receiver=SUCCESSOR.id), HR)
    assert directory.asked[SUCCESSOR.id] > 1  # alone, each command looks it up
    refused = await ledger.execute_batch([
        (c.AddItem(departure_id=departure_id, category="clients", title=f"客户 {n}",
                   receiver="nobody.known"), None) for n in range(3)], HR)
    assert all(isinstance(r, InvalidInputError) for r in refused), refused
    assert directory.asked["nobody.known"] == 1
