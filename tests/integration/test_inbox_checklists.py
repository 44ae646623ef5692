"""A checklist the approval left to HR is a task in the HR owner's inbox (``apply_checklist``,
LEDGER_AUTO_APPLY_CHECKLISTS=on, over HTTP on both stores) until HR applies it or the case
ends; nobody else's inbox lists it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ledger.actor import Actor
from ledger.projections import inbox_queries
from tests.integration.http_fixtures import Api, serve
from tests.support.case_steps import apply, approve, started

READERS = ("hr.zhou", "wang.lei", "li.qiang", "zhao.min", "stranger")


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The service with LEDGER_AUTO_APPLY_CHECKLISTS=on."""
    async with serve(database_url, tmp_path, auto_apply_checklists=True) as served:
        yield served


async def inbox(api: Api, who: str) -> list[dict[str, Any]]:
    reply = await api.read_model("/v1/inbox", who)
    assert reply.status == 200, reply.body
    items: list[dict[str, Any]] = reply.json()["items"]
    return items


def tasks(entries: list[dict[str, Any]], departure_id: str) -> list[dict[str, Any]]:
    return [e for e in entries
            if e["action"] == "apply_checklist" and e["departure_id"] == departure_id]


async def test_the_hr_owner_is_told_to_apply_a_checklist_the_approval_skipped(api: Api) -> None:
    departure_id = await started(api)  # sales, no successor named
    assert tasks(await inbox(api, "hr.sun"), departure_id) == []  # not approved yet

    skipped = (await approve(api, departure_id)).json()["result"]["templates_skipped"]

    [task] = tasks(await inbox(api, "hr.sun"), departure_id)
    assert task["template_key"] == "sales" == skipped[0]["key"]
    assert task["reason"] == skipped[0]["reason"]
    assert "successor" in task["reason"]
    assert task["leaver"] == "王磊"
    for reader in READERS:  # not the other HR, the leaver, the approver, anyone else
        assert tasks(await inbox(api, reader), departure_id) == [], reader
    # nor to the HR owner acting in another role (HR's work, on a form that role lacks)
    elsewhere = await inbox_queries.inbox(api.runtime.projections, api.runtime.principals,
                                          Actor("hr.sun", "manager"))
    assert tasks(elsewhere["items"], departure_id) == []

    await apply(api, departure_id, "sales")  # with zhao.min as the successor

    assert tasks(await inbox(api, "hr.sun"), departure_id) == []


async def test_the_task_goes_with_the_case_and_to_its_new_hr_owner(api: Api) -> None:
    departure_id = await started(api)
    await approve(api, departure_id)
    handed = await api.post(f"/v1/departures/{departure_id}/hand-over", "hr.sun",
                            json={"hr_owner_id": "hr.zhou", "reason": "leave"})
    assert handed.status == 200, handed.body
    assert tasks(await inbox(api, "hr.sun"), departure_id) == []
    assert [t["template_key"] for t in tasks(await inbox(api, "hr.zhou"), departure_id)] == [
        "sales"]

    withdrawn = await api.post(f"/v1/departures/{departure_id}/withdraw", "hr.zhou",
                               json={"reason": "留任"})
    assert withdrawn.status == 200, withdrawn.body

    assert tasks(await inbox(api, "hr.zhou"), departure_id) == []


async def test_a_board_without_the_column_is_rebuilt_and_lists_the_task(api: Api) -> None:
    """A board an earlier release made (no ``skipped`` column) is rebuilt when the service
    starts, and the rebuilt board lists the task."""
    from ledger.projections.board import tables
    from ledger.projections.runner import ProjectionRunner

    departure_id = await started(api)
    await approve(api, departure_id)
    before = tasks(await inbox(api, "hr.sun"), departure_id)
    departures = tables(1)["departures"]
    async with api.runtime.projections.transaction("board") as tx:  # as an older release made it
        assert tx is not None
        await tx.execute(f"DROP INDEX {departures}_skipped")
        await tx.execute(f"ALTER TABLE {departures} DROP COLUMN skipped")
    runner = ProjectionRunner(api.runtime.projections, api.runtime.board.projector)
    await runner.prepare()

    states = {s.name: s for s in await api.runtime.projections.states()}
    assert states["board"].generation == 2 and states["board"].error is None
    assert len(before) == 1 and tasks(await inbox(api, "hr.sun"), departure_id) == before


async def test_a_case_with_a_skipped_checklist_bundles_and_verifies_offline(
        api: Api, tmp_path: Path) -> None:
    """The skip is an event of the case (``DepartureChecklistSkipped``): its bundle carries
    it, and the bundle's own verifier knows where it may stand in the case's history."""
    from ledger.bundle import verify
    from tests.integration.http_fixtures import HR
    from tests.support.bundle_cases import export

    departure_id = await started(api)
    await approve(api, departure_id)
    exported = await export(api.runtime, departure_id, HR)
    assert any("DepartureChecklistSkipped" in data.decode(errors="replace")
               for name, data in exported.parts.files.items() if name.startswith("entries/"))
    path = tmp_path / "bundle.zip"
    path.write_bytes(exported.data)
    vkey = (await api.get("/log/key")).body.decode().strip()

    assert verify.inspect_bundle(path, vkey).failures == []
