"""Checklists applied on approval (LEDGER_AUTO_APPLY_CHECKLISTS=on) over HTTP on both stores:
the role family's and the clearance checklist, in the approval's own commit, each unless HR
applied it already, never a revision the leaver wrote.

Seed 001: "系统根据岗位属性(如销售、技术、行政)生成'基础交接清单'".
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.http_fixtures import Api, serve
from tests.support.case_steps import (
    accept,
    apply,
    approve,
    entries,
    request_departure,
    view,
)


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The service with LEDGER_AUTO_APPLY_CHECKLISTS=on."""
    async with serve(database_url, tmp_path, auto_apply_checklists=True) as served:
        yield served


async def test_an_accepted_request_with_no_chain_is_handed_over_at_once(api: Api) -> None:
    departure_id = await request_departure(api)

    accepted = (await accept(api, departure_id, chain=False)).json()

    assert accepted["result"]["state"] == "handing_over"
    assert [t["key"] for t in accepted["result"]["templates_applied"]] == [
        "technical", "clearance"]
    types = [e["type"] for e in accepted["events"]]
    assert types.count("ItemCreated") == 24
    assert types.count("DepartureTemplateApplied") == 2


async def test_a_checklist_applied_while_pending_is_not_applied_again(api: Api) -> None:
    departure_id = await request_departure(api)
    await accept(api, departure_id)  # a technical case; zhao.min succeeds
    await apply(api, departure_id, "clearance")

    approved = (await approve(api, departure_id)).json()["result"]

    assert [t["key"] for t in approved["templates_applied"]] == ["technical"]
    case = await view(api, f"/v1/departures/{departure_id}")
    assert sorted(t["key"] for t in case["templates"]) == ["clearance", "technical"]


async def test_the_approval_and_the_applied_checklists_commit_as_one(api: Api) -> None:
    departure_id = await request_departure(api)
    await accept(api, departure_id)

    approved = (await approve(api, departure_id)).json()

    departure_events = [e for e in approved["events"] if e["stream_id"] == departure_id]
    assert [e["type"] for e in departure_events] == [
        "DepartureStepApproved", "DepartureTemplateApplied", "DepartureTemplateApplied"]
    stored = await entries(api, departure_id)
    assert stored[-3]["actor"]["id"] == "li.qiang"  # the approver's command applied them


async def test_a_revision_the_leaver_wrote_is_left_for_hr(api: Api) -> None:
    technical = (await view(api, "/v1/templates/technical"))
    body = {k: technical[k] for k in ("key", "role_family", "name", "label")}
    body["items"] = technical["items"][:1]
    revised = await api.post("/v1/templates", "hr.leaver", role="hr", json=body)
    assert revised.status == 200, revised.body
    departure_id = await request_departure(api, "hr.leaver")
    await accept(api, departure_id)

    approved = (await approve(api, departure_id)).json()["result"]

    assert [t["key"] for t in approved["templates_applied"]] == ["clearance"]
    # said, for HR to revise and apply (the HR owner's inbox lists it), never applied
    [skipped] = approved["templates_skipped"]
    assert skipped["key"] == "technical" and "leaver" in skipped["reason"]
    case = await view(api, f"/v1/departures/{departure_id}")
    assert [t["key"] for t in case["templates"]] == ["clearance"]
