"""Replacing one signer of an item over HTTP, on both stores: the manager who was to sign
has left, so the case's HR owner gives the slot to another principal, who signs; the item
confirms."""

from __future__ import annotations

from tests.integration.http_fixtures import Api
from tests.integration.test_http_signoff import (
    LINES,
    approved_departure,
    item_signed_by,
    submit,
    view,
)

ACK = {"acknowledged": [ln["id"] for ln in LINES]}


async def test_hr_replaces_a_signer_who_left_and_the_new_signer_confirms_the_item(
        api: Api) -> None:
    departure_id = await approved_departure(api)
    item_id = await item_signed_by(api, departure_id, ["li.qiang", "zhao.min"])
    await submit(api, item_id)
    path = f"/v1/items/{item_id}/signers/replace"
    body = {"previous": "li.qiang", "signer": "stranger", "reason": "李强已离职"}

    not_owner = await api.post(path, "hr.zhou", json=body)
    assert "HR owner" in not_owner.problem(403)["detail"]
    leaver = await api.post(path, "hr.sun", json={**body, "signer": "wang.lei"})
    assert leaver.problem(422)["detail"]
    auditor = await api.post(path, "hr.sun", json={**body, "signer": "audit.x"})
    assert "confirm items" in auditor.problem(422)["detail"]
    receiver = await api.post(path, "hr.sun", json={**body, "previous": "zhao.min"})
    assert "reassign" in receiver.problem(409)["detail"]

    replaced = await api.post(path, "hr.sun", json=body)
    assert replaced.status == 200, replaced.body
    assert replaced.json()["result"] == {
        "item_id": item_id, "state": "submitted", "signers": ["stranger", "zhao.min"],
        "pending_signers": ["stranger", "zhao.min"]}
    old = await api.post(f"/v1/items/{item_id}/confirm", "li.qiang", json=ACK)
    assert old.status in (403, 404), old.body

    first = await api.post(f"/v1/items/{item_id}/confirm", "stranger", json=ACK)
    assert first.status == 200, first.body
    stands = await api.post(path, "hr.sun", json={**body, "previous": "stranger",
                                                  "signer": "li.qiang"})
    assert "stands" in stands.problem(409)["detail"]
    last = await api.post(f"/v1/items/{item_id}/confirm", "zhao.min", json=ACK)
    assert last.json()["result"]["state"] == "confirmed", last.body

    shown = await view(api, item_id)
    assert shown["signers"] == ["stranger", "zhao.min"]
    events = (await api.get(f"/v1/streams/{item_id}/events", "hr.sun")).json()
    types = [e["type"] for e in events.get("events", events.get("items", []))]
    assert types == ["ItemCreated", "ItemSubmitted", "ItemSignerReplaced", "ItemSignedOff",
                     "ItemConfirmed"]


async def test_after_a_hand_over_the_new_hr_owner_takes_the_hr_slot_and_signs(api: Api) -> None:
    departure_id = await approved_departure(api)
    item_id = await item_signed_by(api, departure_id, ["hr.sun", "zhao.min"])
    await submit(api, item_id)
    handed = await api.post(f"/v1/departures/{departure_id}/hand-over", "hr.sun",
                            json={"hr_owner_id": "hr.zhou", "reason": "孙 HR 调岗"})
    assert handed.status == 200, handed.body
    path = f"/v1/items/{item_id}/signers/replace"
    body = {"previous": "hr.sun", "signer": "hr.zhou", "reason": "case handed over"}

    former = await api.post(path, "hr.sun", json=body)
    assert former.status in (403, 404), former.body
    taken = await api.post(path, "hr.zhou", json=body)
    assert taken.json()["result"]["signers"] == ["hr.zhou", "zhao.min"], taken.body

    for signer in ("hr.zhou", "zhao.min"):
        signed = await api.post(f"/v1/items/{item_id}/confirm", signer, json=ACK)
        assert signed.status == 200, signed.body
    assert signed.json()["result"]["state"] == "confirmed"
