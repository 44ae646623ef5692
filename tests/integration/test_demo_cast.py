"""The demo names only people it creates: every scenario plays through a runtime whose ledger
accepts only known principals in a case, on SQLite and PostgreSQL, with the checklists applied
by HR or on approval; ``ledger verify`` passes after it; and it plays the seeds' stories with
issue 9's rules (a signed confirmation and a dispute, a request from a phone and a moved last
day, modules signed line by line, a laptop reviewed before it is wiped)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ledger.aggregates.departure import Departure
from ledger.aggregates.dispute import Dispute
from ledger.aggregates.item import DEPARTMENT_QUEUES, MODULES, HandoverItem
from ledger.bootstrap import bootstrap
from ledger.demo_scenarios import play_all
from ledger.runtime import Runtime
from ledger.settings import Settings
from ledger.verify import verify_ledger
from tests.conftest import TEST_ORIGIN, drain

TODAY = dt.date(2026, 11, 24)


async def items_of(runtime: Runtime, departure: Departure) -> dict[str, HandoverItem]:
    found = [await runtime.ledger.load(HandoverItem, i) for i in departure.item_ids]
    return {str(i.template_item_key): i for i in found}


@pytest.mark.parametrize("auto_apply", [False, True], ids=["by-hr", "on-approval"])
async def test_the_demo_creates_a_principal_for_every_person_it_names_and_verifies(
        database_url: str, tmp_path: Path, auto_apply: bool) -> None:
    runtime = await bootstrap(Settings(database_url=database_url, data_dir=tmp_path,
                                          log_origin=TEST_ORIGIN, key_dir=tmp_path / "keys",
                                          auto_apply_checklists=auto_apply))
    try:
        played = await play_all(runtime.ledger, TODAY, runtime.blobs, runtime.principals)
        known = {p.id for p in await runtime.principals.list_principals()}
        named: set[str] = set()
        for departure_id in played.values():
            departure = await runtime.ledger.load(Departure, departure_id)
            named |= {departure.leaver_id, departure.manager_id, departure.hr_owner_id,
                      *(str(s["approver_id"]) for s in departure.approval_chain)}
            for item in (await items_of(runtime, departure)).values():
                named |= {item.giver_id, item.receiver, *item.signers,
                          *item.signed_off_by()} - set(DEPARTMENT_QUEUES)
        assert named <= known, sorted(named - known)
        assert len(named) >= 10

        await drain(runtime.sequencer)
        report = await verify_ledger(runtime.store, runtime.log, runtime.verifiers,
                                     TEST_ORIGIN, strict=True, blobs=runtime.blobs)
        assert report.problems == []
    finally:
        await runtime.close()


async def test_the_demo_plays_the_seeds_stories_with_issue_9s_rules(
        database_url: str, tmp_path: Path) -> None:
    runtime = await bootstrap(Settings(database_url=database_url, data_dir=tmp_path,
                                          log_origin=TEST_ORIGIN, key_dir=tmp_path / "keys"))
    try:
        played = await play_all(runtime.ledger, TODAY, runtime.blobs, runtime.principals)
        sales, technician, coo, lead = [await runtime.ledger.load(Departure, d)
                                        for d in played.values()]

        # 000: closed with the confirmation signed, then disputed and found.
        assert sales.state == "closed" and sales.legal_hold is True
        dispute = await runtime.ledger.load(Dispute, sales.dispute_ids[0])
        assert dispute.state == "found"
        assert len(dispute.statements) == 2

        # 001: requested from the phone, accepted, the last day moved; handed over remotely.
        assert technician.request is not None and technician.last_working_day_changes
        assert technician.last_working_day == (TODAY - dt.timedelta(days=3)).isoformat()
        site = (await items_of(runtime, technician))["on-site-handover"]
        assert site.state == "confirmed"
        assert site.submission_how is not None
        assert site.submission_how["mode"] == "recorded_walkthrough"

        # 002: the five modules signed; the risk register acknowledged line by line.
        modules = [i for i in (await items_of(runtime, coo)).values() if i.module]
        assert {i.module for i in modules} == set(MODULES)
        assert all(i.state == "confirmed" for i in modules)
        risks = (await items_of(runtime, coo))["core-projects-risk-register"]
        assert [line["id"] for line in risks.lines] == ["R1", "R2", "R3", "R4"]
        assert risks.submissions == 2  # R3 was rejected once
        strategy = (await items_of(runtime, coo))["strategy-plan-and-okr"]
        assert strategy.signed_off_by() == ["song.jia"]  # the successor, not the CEO

        # 004: the laptop reviewed before the wipe.
        lead_items = await items_of(runtime, lead)
        wipe, review = lead_items["it-wipe-devices"], lead_items["laptop-review"]
        assert wipe.requires == [str(review.id)]
        assert (review.state, wipe.state) == ("confirmed", "confirmed")
    finally:
        await runtime.close()
