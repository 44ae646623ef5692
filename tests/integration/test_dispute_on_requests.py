"""A dispute needs a case HR accepted, on both stores: a leaver's own request (requested, or
declined) takes none, so no legal hold shows its claim to legal, who cannot read the case."""

from __future__ import annotations

from typing import Any

from tests.integration.http_fixtures import Api
from tests.support.case_steps import request_departure

MISSING = "00000000-0000-4000-8000-000000000000"


async def raise_on(api: Api, departure_id: str, who: str) -> Any:
    return await api.post("/v1/disputes", who, json={
        "departure_id": departure_id, "item_ids": [], "claim": "离职申请材料不实"})


async def test_a_request_never_accepted_takes_no_dispute(api: Api) -> None:
    requested = await request_departure(api)
    assert "requested" in (await raise_on(api, requested, "hr.sun")).problem(409)["detail"]
    absent = (await raise_on(api, MISSING, "li.qiang")).problem(404)
    hidden = (await raise_on(api, requested, "li.qiang")).problem(404)
    assert hidden["detail"].replace(requested, MISSING) == absent["detail"]
    declined = await request_departure(api)
    reply = await api.post(f"/v1/departures/requests/{declined}/decline", "hr.sun",
                           json={"reason": "请先与部门负责人面谈"})
    assert reply.status == 200, reply.body
    assert "declined" in (await raise_on(api, declined, "hr.sun")).problem(409)["detail"]
    for departure_id in (requested, declined):
        view = (await api.get(f"/v1/departures/{departure_id}", "hr.sun")).json()
        assert view["legal_hold"] is False and view["dispute_ids"] == []
