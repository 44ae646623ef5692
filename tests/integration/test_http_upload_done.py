"""No upload to an item already confirmed or waived (both stores): the handover confirmation
lists files "uploaded, not submitted", so a late upload would void every signature collected."""

from __future__ import annotations

from tests.integration.http_fixtures import Api
from tests.integration.test_evidence_http import case, upload


async def test_an_upload_to_a_confirmed_item_is_a_409(api: Api) -> None:
    _, item_id = await case(api)
    assert (await api.post(f"/v1/items/{item_id}/submit", "wang.lei", json={})).status == 200
    confirmed = await api.post(f"/v1/items/{item_id}/confirm", "zhao.min", json={})
    assert confirmed.status == 200, confirmed.body

    reply = await upload(api, item_id, "wang.lei", b"%PDF-1.7 late")

    assert reply.status == 409, reply.body
    assert "already confirmed" in reply.json()["detail"]


async def test_an_upload_to_a_waived_item_is_a_409(api: Api) -> None:
    _, item_id = await case(api)
    waived = await api.post(f"/v1/items/{item_id}/waive", "hr.sun", json={"reason": "不需要"})
    assert waived.status == 200, waived.body

    reply = await upload(api, item_id, "hr.sun", b"%PDF-1.7 late")

    assert reply.status == 409, reply.body


async def test_an_upload_to_an_open_item_is_still_taken(api: Api) -> None:
    _, item_id = await case(api)

    reply = await upload(api, item_id, "wang.lei", b"%PDF-1.7 early")

    assert reply.status in (200, 201), reply.body
