"""Checklists the approval cannot apply as written are skipped and said, never merged or
fatal (LEDGER_AUTO_APPLY_CHECKLISTS=on, both stores).

A line for the successor on a case that names none would otherwise go to the manager, and a
line the manager and the successor co-sign (004: "由客户经理与新接手人共同签字") would lose its
second signer; a checklist that this case refuses would abort the approval itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.http_fixtures import Api, departure_body, serve
from tests.support.case_steps import accept, approve, request_departure, started, view


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The service with LEDGER_AUTO_APPLY_CHECKLISTS=on."""
    async with serve(database_url, tmp_path, auto_apply_checklists=True) as served:
        yield served


def keys(result: dict[str, Any], field: str) -> list[str]:
    return [str(t["key"]) for t in result.get(field, [])]


async def test_a_checklist_with_successor_lines_is_skipped_when_no_successor_is_named(
        api: Api) -> None:
    departure_id = await started(api)  # a sales case started by HR: no successor named

    approved = (await approve(api, departure_id)).json()["result"]

    assert keys(approved, "templates_applied") == ["clearance"]
    assert keys(approved, "templates_skipped") == ["sales"]
    assert "successor" in approved["templates_skipped"][0]["reason"]
    case = await view(api, f"/v1/departures/{departure_id}")
    assert [t["key"] for t in case["templates"]] == ["clearance"]


async def test_the_manager_named_as_successor_does_not_swallow_a_co_signer(api: Api) -> None:
    departure_id = await request_departure(api)

    accepted = (await accept(api, departure_id, chain=False, successor_id="li.qiang")).json()

    assert accepted["result"]["state"] == "handing_over"
    case = await view(api, f"/v1/departures/{departure_id}")
    # technical's on-site-handover is co-signed by the manager and the successor
    assert "technical" not in [t["key"] for t in case["templates"]]


async def test_a_checklist_this_case_refuses_does_not_abort_the_approval(api: Api) -> None:
    technical = await view(api, "/v1/templates/technical")
    body = {k: technical[k] for k in ("key", "role_family", "name", "label")}
    line = {k: v for k, v in technical["items"][0].items()
            if k not in ("giver", "signers", "signers_in_order", "requires")}
    body["items"] = [{**line, "giver": "manager", "receiver": "successor"}]
    revised = await api.post("/v1/templates", "hr.zhou", role="hr", json=body)
    assert revised.status == 200, revised.body
    departure_id = await request_departure(api)
    await accept(api, departure_id, successor_id="li.qiang")  # the manager succeeds

    reply = await approve(api, departure_id)

    result = reply.json()["result"]
    assert result["state"] == "handing_over"
    assert keys(result, "templates_applied") == ["clearance"]
    assert keys(result, "templates_skipped") == ["technical"]
    assert "would receive it" in result["templates_skipped"][0]["reason"]
    case = await view(api, f"/v1/departures/{departure_id}")
    assert [t["key"] for t in case["templates"]] == ["clearance"]


async def test_a_case_hr_starts_may_name_its_successor_and_then_gets_every_checklist(
        api: Api) -> None:
    body = {**departure_body(), "successor_id": "zhao.min"}
    reply = await api.post("/v1/departures", "hr.sun", json=body)
    assert reply.status == 201, reply.body
    assert [e["type"] for e in reply.json()["events"]] == [
        "DepartureStarted", "DepartureSuccessorNamed"]
    departure_id = reply.json()["result"]["departure_id"]
    assert (await api.post(f"/v1/departures/{departure_id}/submit", "hr.sun")).status == 200

    approved = (await approve(api, departure_id)).json()["result"]

    assert keys(approved, "templates_applied") == ["sales", "clearance"]
    case = await view(api, f"/v1/departures/{departure_id}")
    assert case["successor_id"] == "zhao.min"


@pytest.mark.parametrize(("successor", "field"), [("wang.lei", "successor_id"),
                                                  ("nobody.here", "successor_id")])
async def test_a_case_hr_starts_refuses_the_leaver_or_a_stranger_as_successor(
        api: Api, successor: str, field: str) -> None:
    body = {**departure_body(), "successor_id": successor}
    refused = await api.post("/v1/departures", "hr.sun", json=body)
    assert refused.problem(422)["field"] == field
