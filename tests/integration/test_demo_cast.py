"""The demo names only people it creates: every scenario plays through a runtime whose ledger
accepts only known principals in a case, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ledger.aggregates.departure import Departure
from ledger.aggregates.item import DEPARTMENT_QUEUES, HandoverItem
from ledger.demo_scenarios import play_all
from ledger.runtime import open_runtime
from ledger.settings import Settings
from tests.conftest import TEST_ORIGIN


async def test_the_demo_creates_a_principal_for_every_person_it_names(
        database_url: str, tmp_path: Path) -> None:
    runtime = await open_runtime(Settings(database_url=database_url, data_dir=tmp_path,
                                          log_origin=TEST_ORIGIN, key_dir=tmp_path / "keys"))
    try:
        played = await play_all(runtime.ledger, dt.date(2026, 11, 24), runtime.blobs,
                                runtime.principals)
        known = {p.id for p in await runtime.principals.list_principals()}
        named: set[str] = set()
        for departure_id in played.values():
            departure = await runtime.ledger.load(Departure, departure_id)
            named |= {departure.leaver_id, departure.manager_id, departure.hr_owner_id,
                      *(str(s["approver_id"]) for s in departure.approval_chain)}
            for item_id in departure.item_ids:
                item = await runtime.ledger.load(HandoverItem, item_id)
                named |= {item.giver_id, item.receiver} - set(DEPARTMENT_QUEUES)
        assert named <= known, sorted(named - known)
        assert len(named) >= 10
    finally:
        await runtime.close()
