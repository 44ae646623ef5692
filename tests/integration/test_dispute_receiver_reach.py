"""What a receiver reaches through a dispute, on both stores: they name only items they
receive or signed off, and a statement cites only files of items its author may read; any
other item, or file, answers exactly as one that does not exist (no oracle on others' files).
"""

from __future__ import annotations

from typing import Any

from tests.integration.http_fixtures import Api
from tests.support.handover_case import Case, handed_over_case

MISSING = "00000000-0000-4000-8000-000000000000"


async def raise_on(api: Api, case: Case, who: str, items: list[str]) -> Any:
    return await api.post("/v1/disputes", who, json={
        "departure_id": case.departure, "item_ids": items, "claim": "交接时被隐瞒"})


async def test_a_receiver_may_not_pull_an_item_they_do_not_receive_into_a_dispute(
        api: Api) -> None:
    case = await handed_over_case(api)
    others = await raise_on(api, case, "zhao.min", [case.client_item, case.account_item])
    absent = await raise_on(api, case, "zhao.min", [case.client_item, MISSING])
    assert others.problem(404) == absent.problem(404)
    assert (await raise_on(api, case, "zhao.min", [case.client_item])).status == 201
    signed = await raise_on(api, case, "it.qian", [case.account_item])  # signed it off
    assert signed.status == 201, signed.body
    view = (await api.get(f"/v1/departures/{case.departure}", "hr.sun")).json()
    assert len(view["dispute_ids"]) == 2


async def test_a_statement_cites_only_files_of_items_its_author_may_read(api: Api) -> None:
    case = await handed_over_case(api)
    raised = await raise_on(api, case, "li.qiang", [case.client_item, case.account_item])
    assert raised.status == 201, raised.body
    statements = f"/v1/disputes/{raised.json()['result']['dispute_id']}/statements"

    async def cite(who: str, sha256: str, item: str) -> Any:
        return await api.post(statements, who, json={
            "text": "见附件", "evidence": [{"sha256": sha256, "item_id": item}]})

    # it.qian signed off the account item, not the client item: its file is not theirs to test
    real = (await cite("it.qian", case.client_file, case.client_item)).problem(422)
    guess = (await cite("it.qian", "ef" * 32, case.client_item)).problem(422)
    outside = (await cite("it.qian", case.client_file, MISSING)).problem(422)
    assert real["detail"].replace(case.client_file, "x") == guess["detail"].replace(
        "ef" * 32, "x")
    assert real["detail"].replace(case.client_item, "i") == outside["detail"].replace(
        MISSING, "i")
    assert real["field"] == outside["field"] == f"evidence.{case.client_file}"
    own = await cite("zhao.min", case.client_file, case.client_item)
    assert own.status == 201, own.body
