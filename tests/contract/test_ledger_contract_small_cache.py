"""Every use-case contract again with an aggregate cache of 0 and of 1 entries: a cold or
constantly evicting cache serves every scenario exactly as a warm one does."""

from __future__ import annotations

import pytest

from ledger.service.cache import AggregateCache
from ledger.service.ledger import Ledger
from ledger.store.port import EventStore
from tests.contract.test_ledger_contract import *  # noqa: F403 (the same tests, re-collected)


@pytest.fixture(params=[0, 1], ids=["cache0", "cache1"])
async def ledger(request: pytest.FixtureRequest, store: EventStore) -> Ledger:
    """A Ledger whose cache holds at most ``request.param`` aggregates."""
    facade = Ledger(store, cache=AggregateCache(request.param))
    await facade.install_builtin_templates()
    return facade
