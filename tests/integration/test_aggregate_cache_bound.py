"""The aggregate cache is bounded: it evicts at its size, an evicted aggregate is read afresh
and verified, and the size comes from LEDGER_AGGREGATE_CACHE_SIZE."""

from __future__ import annotations

from uuid import UUID

import pytest

from ledger.aggregates.departure import Departure
from ledger.aggregates.item import HandoverItem
from ledger.errors import ConfigurationError
from ledger.service import commands as c
from ledger.service.cache import AggregateCache
from ledger.service.ledger import Ledger
from ledger.settings import Settings
from ledger.store.port import EventStore
from tests.contract.test_ledger_contract import HR, SUCCESSOR, handing_over
from tests.support.confirmation import sign_confirmation


async def _items(ledger: Ledger, departure_id: str, count: int) -> list[UUID]:
    items = []
    for k in range(count):
        added = await ledger.execute(c.AddItem(
            departure_id=departure_id, category="documents", title=f"文件 {k}",
            receiver=SUCCESSOR.id, mandatory=False), HR)
        items.append(UUID(str(added.result["item_id"])))
    return items


async def test_the_cache_evicts_the_least_recently_used_at_its_bound_and_reloads_it(
        store: EventStore) -> None:
    ledger = Ledger(store, cache=AggregateCache(3))
    await ledger.install_builtin_templates()
    departure_id = await handing_over(ledger, templates=())
    items = await _items(ledger, departure_id, 4)
    assert len(ledger.cache) == 3  # never more than its size
    # Each AddItem writes its item and the departure: the oldest items went first.
    assert items[0] not in ledger.cache and items[1] not in ledger.cache
    assert items[3] in ledger.cache and UUID(departure_id) in ledger.cache
    # An evicted item is read from the store and verified, then serves a command as before.
    await ledger.execute(c.CommentItem(item_id=str(items[0]), text="仍可评论"), HR)
    assert items[0] in ledger.cache and len(ledger.cache) == 3
    assert items[3] in ledger.cache and UUID(departure_id) in ledger.cache
    assert items[2] not in ledger.cache  # it was the least recently used
    fresh = await Ledger(store, cache=AggregateCache(0)).load(HandoverItem, items[0])
    cached = ledger.cache.peek(items[0])
    assert cached is not None and fresh.version == 2
    assert isinstance(cached.aggregate, HandoverItem)
    assert (cached.aggregate.version, cached.aggregate.title, cached.aggregate.state) == (
        fresh.version, fresh.title, fresh.state) == (2, "文件 0", "open")


async def test_a_cache_of_size_zero_keeps_nothing_and_still_serves(store: EventStore) -> None:
    ledger = Ledger(store, cache=AggregateCache(0))
    await ledger.install_builtin_templates()
    departure_id = await handing_over(ledger, templates=())
    [item] = await _items(ledger, departure_id, 1)
    await ledger.execute(c.CommentItem(item_id=str(item), text="x"), HR)
    assert len(ledger.cache) == 0
    loaded = await ledger.load(HandoverItem, item)
    assert loaded.version == 2


async def test_a_read_refreshes_what_the_cache_holds_and_adds_nothing(
        store: EventStore) -> None:
    ledger = Ledger(store, cache=AggregateCache(1_000))
    await ledger.install_builtin_templates()
    departure_id = await handing_over(ledger, templates=())
    [item] = await _items(ledger, departure_id, 1)
    ledger.cache.evict(item)
    assert (await ledger.load(HandoverItem, item)).version == 1
    assert item not in ledger.cache  # a read (a legal export, say) leaves the cache as it was
    await ledger.execute(c.CommentItem(item_id=str(item), text="命令读入缓存"), HR)
    assert item in ledger.cache  # a command's stream joins it
    other = Ledger(store, cache=AggregateCache(0))  # another process comments
    await other.execute(c.CommentItem(item_id=str(item), text="另一进程"), HR)
    assert (await ledger.load(HandoverItem, item)).version == 3
    cached = ledger.cache.peek(item)
    assert cached is not None and cached.aggregate.version == 3  # refreshed in place


async def _closable(ledger: Ledger) -> tuple[str, list[UUID]]:
    """A case whose items are all waived and whose confirmation is signed."""
    departure_id = await handing_over(ledger, ("finance",))
    items = [UUID(i) for i in (await ledger.load(Departure, departure_id)).item_ids]
    for item in items:
        await ledger.execute(c.WaiveItem(item_id=item, reason="不适用"), HR)
    await sign_confirmation(ledger, departure_id)
    return departure_id, items


@pytest.mark.parametrize("batched", [False, True], ids=["single", "batch"])
async def test_a_case_that_ends_leaves_the_cache_with_its_items(
        store: EventStore, batched: bool) -> None:
    """The cache follows the open work: closing a case drops it and every item the close
    loaded, another case's streams stay; a later read of the closed case reads afresh."""
    ledger = Ledger(store, cache=AggregateCache(1_000))
    await ledger.install_builtin_templates()
    closing, closing_items = await _closable(ledger)
    staying, staying_items = await _closable(ledger)
    assert {UUID(closing), *closing_items, UUID(staying), *staying_items} <= set(
        ledger.cache._entries)
    read_before = await Ledger(store, cache=AggregateCache(0)).load(Departure, closing)
    close = c.CloseDeparture(departure_id=closing, note="ok")
    if batched:
        [outcome] = await ledger.execute_batch([(close, None)], HR)
        assert not isinstance(outcome, Exception), outcome
    else:
        await ledger.execute(close, HR)
    held = set(ledger.cache._entries)
    assert not {UUID(closing), *closing_items} & held
    assert {UUID(staying), *staying_items} <= held
    # a command that read the case before the close cannot put that older state back
    ledger.cache.put(read_before, b"\0" * 32)
    assert UUID(closing) not in ledger.cache
    assert (await ledger.load(Departure, closing)).state == "closed"
    await ledger.execute(c.WithdrawDeparture(departure_id=staying, reason="stays"), HR)
    assert UUID(staying) not in ledger.cache
    # A closed case's item is read from the store and verified as before.
    assert (await ledger.load(HandoverItem, closing_items[0])).state == "waived"


def test_the_cache_size_comes_from_the_environment() -> None:
    assert Settings.from_env({}).aggregate_cache_size == 10_000
    assert Settings.from_env({"LEDGER_AGGREGATE_CACHE_SIZE": "0"}).aggregate_cache_size == 0
    assert Settings.from_env({"LEDGER_AGGREGATE_CACHE_SIZE": "500"}).aggregate_cache_size == 500
    for bad in ("-1", "many", "", "99999999999"):
        with pytest.raises(ConfigurationError, match="LEDGER_AGGREGATE_CACHE_SIZE"):
            Settings.from_env({"LEDGER_AGGREGATE_CACHE_SIZE": bad})
    with pytest.raises(ValueError, match="fewer than 0"):
        AggregateCache(-1)


def test_the_board_cache_size_comes_from_the_environment() -> None:
    assert Settings.from_env({}).board_cache_size == 10_000
    assert Settings.from_env({"LEDGER_BOARD_CACHE_SIZE": "0"}).board_cache_size == 0
    assert Settings.from_env({"LEDGER_BOARD_CACHE_SIZE": "300"}).board_cache_size == 300
    for bad in ("-1", "many", "", "99999999999"):
        with pytest.raises(ConfigurationError, match="LEDGER_BOARD_CACHE_SIZE"):
            Settings.from_env({"LEDGER_BOARD_CACHE_SIZE": bad})
