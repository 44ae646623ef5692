"""HR's manual apply follows the successor the case names on accept (both stores)."""

from __future__ import annotations

from tests.integration.http_fixtures import Api
from tests.support.case_steps import accept, request_departure, view


async def accepted_case(api: Api) -> str:
    departure_id = await request_departure(api)
    await accept(api, departure_id, chain=False)  # zhao.min succeeds
    return departure_id


async def test_a_checklist_applied_without_a_successor_goes_to_the_cases_successor(
        api: Api) -> None:
    departure_id = await accepted_case(api)

    reply = await api.post(f"/v1/departures/{departure_id}/templates", "hr.sun",
                           json={"template_key": "technical"})

    assert reply.status == 200, reply.body
    first = reply.json()["result"]["item_ids"][1]
    item = await view(api, f"/v1/items/{first}")
    assert item["receiver"] == "zhao.min"


async def test_another_successor_than_the_cases_is_refused(api: Api) -> None:
    departure_id = await accepted_case(api)

    reply = await api.post(f"/v1/departures/{departure_id}/templates", "hr.sun",
                           json={"template_key": "technical", "successor_id": "stranger"})

    assert reply.status == 422, reply.body
    problem = reply.json()
    assert "successor_id" in reply.body.decode()
    assert "zhao.min" in problem["detail"]


async def test_the_cases_own_successor_may_be_named_again(api: Api) -> None:
    departure_id = await accepted_case(api)

    reply = await api.post(f"/v1/departures/{departure_id}/templates", "hr.sun",
                           json={"template_key": "technical", "successor_id": "zhao.min"})

    assert reply.status == 200, reply.body
