"""Who may be asked a question on an item (both stores): only participants who can act on it,
and every unusable addressee is refused with the same words (no probing the directory)."""

from __future__ import annotations

import pytest

from tests.integration.http_fixtures import Api
from tests.integration.test_flow_http import add_item, approved


async def ask(api: Api, item_id: str, to: str) -> tuple[int, str]:
    reply = await api.post(f"/v1/items/{item_id}/comments", "zhao.min",
                           json={"text": "合同原件在哪里?", "question_to": to})
    detail = reply.json().get("detail", "") if reply.status != 201 else ""
    return reply.status, str(detail).replace(to, "<to>")


@pytest.mark.parametrize("who", ["audit.x", "legal.x"])
async def test_an_auditor_or_legal_cannot_be_asked(api: Api, who: str) -> None:
    item_id = await add_item(api, await approved(api), "客户资料")

    status, _ = await ask(api, item_id, who)

    assert status == 422


async def test_unknown_inactive_and_uninvolved_addressees_read_the_same(api: Api) -> None:
    item_id = await add_item(api, await approved(api), "客户资料")
    deactivated = await api.post("/v1/principals/fin.zhou/deactivate", "admin")
    assert deactivated.status == 200, deactivated.body

    answers = {to: await ask(api, item_id, to)
               for to in ("nobody.here", "fin.zhou", "stranger", "audit.x", "system.iam")}

    assert {status for status, _ in answers.values()} == {422}
    assert len({detail for _, detail in answers.values()}) == 1, answers


async def test_a_participant_may_still_be_asked(api: Api) -> None:
    item_id = await add_item(api, await approved(api), "客户资料")

    status, _ = await ask(api, item_id, "wang.lei")

    assert status == 201
