"""A command that loads an aggregate read-only from the cache may not change it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.aggregates.item import HandoverItem
from ledger.errors import LedgerError
from ledger.service.cache import AggregateCache
from ledger.service.context import Actor, RequestContext
from ledger.service.unit_of_work import UnitOfWork
from ledger.store.sqlite import SQLiteEventStore


async def test_changing_an_aggregate_loaded_read_only_is_refused_and_dropped_from_the_cache(
        tmp_path: Path) -> None:
    store = await SQLiteEventStore.connect(tmp_path / "l.db")
    await store.migrate()
    try:
        cache = AggregateCache()
        first = UnitOfWork(store, cache)
        item = HandoverItem(departure_id="d", category="documents", title="t", label="",
                            acceptance_criteria="", giver_id="g", receiver="r", mandatory=True,
                            priority="normal", due_date=None, template_item_key=None)
        first.add(item)
        actor = Actor("hr.x", "hr")
        await store.append(first.collect(actor, RequestContext()))
        first.remember()

        second = UnitOfWork(store, cache, trust_cache=True)
        shared = await second.get(HandoverItem, item.id, read_only=True)
        assert second.used_cache
        shared.comment(by="hr.x", text="oops")
        with pytest.raises(LedgerError, match="loaded read-only"):
            second.collect(actor, RequestContext())
        assert cache.peek(item.id) is None  # the next command reads it afresh
    finally:
        await store.close()
