"""Who records a dispute's finding, on both stores: under strict separation of duties no one
judges their own cause (its raiser, the leaver's manager, whoever gives, receives, submitted
or signed off an item it concerns), the case's HR owner decides (another HR when the owner
may not), and only once the leaver's side is on the record.

Seed 002: HR found "责任界定为'接收方未履行确认义务'" — a finding a party could otherwise write
about itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.integration.http_fixtures import Api, serve
from tests.support.handover_case import Case, handed_over_case

FINDING = {"responsibility": "receiver", "reasons": "接收方未履行确认义务"}


async def raise_on(api: Api, case: Case, who: str, item: str) -> str:
    raised = await api.post("/v1/disputes", who, json={
        "departure_id": case.departure, "item_ids": [item], "claim": "交接时被隐瞒"})
    assert raised.status == 201, raised.body
    dispute_id: str = raised.json()["result"]["dispute_id"]
    return dispute_id


async def find(api: Api, dispute_id: str, who: str, role: str | None = None) -> Any:
    return await api.post(f"/v1/disputes/{dispute_id}/finding", who, role=role, json=FINDING)


async def state(api: Api, dispute_id: str, who: str, text: str = "我方已如实交接") -> None:
    stated = await api.post(f"/v1/disputes/{dispute_id}/statements", who,
                            json={"text": text, "evidence": []})
    assert stated.status == 201, stated.body


async def test_the_hr_who_raised_a_dispute_may_not_decide_it_and_another_hr_does(
        api: Api) -> None:
    case = await handed_over_case(api)
    dispute_id = await raise_on(api, case, "hr.sun", case.client_item)
    await state(api, dispute_id, "wang.lei")
    assert "raised it" in (await find(api, dispute_id, "hr.sun")).problem(403)["detail"]
    assert (await find(api, dispute_id, "hr.zhou")).status == 200


async def test_only_the_hr_owner_decides_a_dispute_it_takes_no_part_in(api: Api) -> None:
    case = await handed_over_case(api)
    dispute_id = await raise_on(api, case, "hr.zhou", case.client_item)
    await state(api, dispute_id, "wang.lei")
    assert "raised it" in (await find(api, dispute_id, "hr.zhou")).problem(403)["detail"]
    refused = await find(api, dispute_id, "hr.leaver", "hr")  # HR, but not the case's owner
    assert "only the HR owner" in refused.problem(403)["detail"]
    assert (await find(api, dispute_id, "hr.sun")).status == 200


async def test_an_hr_owner_who_received_a_disputed_item_may_not_decide_it(api: Api) -> None:
    case = await handed_over_case(api)
    added = await api.post(f"/v1/departures/{case.departure}/items", "hr.sun", json={
        "category": "documents", "title": "人事档案", "receiver": "hr.sun"})
    assert added.status == 201, added.body
    item = added.json()["result"]["item_id"]
    assert (await api.post(f"/v1/items/{item}/submit", "wang.lei", json={})).status == 200
    assert (await api.post(f"/v1/items/{item}/confirm", "hr.sun", json={})).status == 200
    dispute_id = await raise_on(api, case, "li.qiang", item)
    await state(api, dispute_id, "wang.lei")
    refused = await find(api, dispute_id, "hr.sun")
    assert "takes part in an item" in refused.problem(403)["detail"]
    assert (await find(api, dispute_id, "hr.zhou")).status == 200


async def test_a_finding_waits_for_the_leavers_side_or_the_deciders_statement(
        api: Api) -> None:
    case = await handed_over_case(api)
    heard = await raise_on(api, case, "zhao.min", case.client_item)
    await state(api, heard, "zhao.min", "三期需求未见记录")
    assert "has not stated" in (await find(api, heard, "hr.sun")).problem(409)["detail"]
    await state(api, heard, "wang.lei")
    assert (await find(api, heard, "hr.sun")).status == 200
    silent = await raise_on(api, case, "zhao.min", case.client_item)
    (await find(api, silent, "hr.sun")).problem(409)
    await state(api, silent, "hr.sun", "离职人员经三次联系未回复，依记录认定")
    assert (await find(api, silent, "hr.sun")).status == 200


async def test_without_separation_of_duties_any_hr_decides_even_its_own_dispute(
        database_url: str, tmp_path: Path) -> None:
    async with serve(database_url, tmp_path / "off", separation_of_duties=False) as api:
        case = await handed_over_case(api)
        dispute_id = await raise_on(api, case, "hr.zhou", case.client_item)
        assert (await find(api, dispute_id, "hr.zhou")).status == 200
