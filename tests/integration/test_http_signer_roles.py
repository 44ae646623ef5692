"""Declared signers include the receiver, and every signer can sign (both stores).

A manager's ``{"receiver": "zhao.min", "signers": ["li.qiang"]}`` used to make an item its
receiver could not confirm; an auditor, legal or a system principal can never confirm an item.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.http_fixtures import Api
from tests.support.case_steps import accept, request_departure


async def handing_over(api: Api) -> str:
    departure_id = await request_departure(api)
    await accept(api, departure_id, chain=False)
    return departure_id


async def add(api: Api, departure_id: str, who: str = "hr.sun", **fields: Any) -> Any:
    return await api.post(f"/v1/departures/{departure_id}/items", who, json={
        "category": "assets", "title": "项目资料", "receiver": "zhao.min", **fields})


async def test_signers_that_leave_out_the_receiver_are_refused(api: Api) -> None:
    departure_id = await handing_over(api)

    reply = await add(api, departure_id, "li.qiang", signers=["li.qiang"])

    assert reply.status == 422, reply.body
    assert "the receiver (zhao.min) must be one of the signers" in reply.json()["detail"]


async def test_signers_that_include_the_receiver_are_taken(api: Api) -> None:
    departure_id = await handing_over(api)

    reply = await add(api, departure_id, "li.qiang", signers=["li.qiang", "zhao.min"])

    assert reply.status == 201, reply.body


@pytest.mark.parametrize("who", ["audit.x", "legal.x", "system.iam"])
async def test_a_signer_who_may_not_confirm_items_is_refused(api: Api, who: str) -> None:
    departure_id = await handing_over(api)

    reply = await add(api, departure_id, signers=[who, "zhao.min"])

    assert reply.status == 422, reply.body
    assert "holds no role that may confirm items" in reply.json()["detail"]


async def test_a_receiver_who_may_not_confirm_items_is_refused(api: Api) -> None:
    departure_id = await handing_over(api)

    reply = await add(api, departure_id, receiver="audit.x")

    assert reply.status == 422, reply.body


async def test_a_signer_with_one_confirming_role_among_others_is_taken(api: Api) -> None:
    departure_id = await handing_over(api)

    reply = await add(api, departure_id, signers=["legal.mgr", "zhao.min"])

    assert reply.status == 201, reply.body
