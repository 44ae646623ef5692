"""``GET /v1/items/{id}`` says why the item was last rejected (``last_rejection``: by, reason,
at, submission) to whoever may read the item, on both stores; anyone else still gets the
same 404 as for an item that does not exist."""

from __future__ import annotations

import json
import uuid

from tests.integration.http_fixtures import Api
from tests.support.case_steps import add_item, approved

REASON = "三家重点客户的最新需求缺失"


async def rejected_item(api: Api) -> str:
    departure_id = await approved(api)
    item_id = await add_item(api, departure_id)  # wang.lei gives it, zhao.min receives it
    submitted = await api.post(f"/v1/items/{item_id}/submit", "wang.lei",
                               json={"note": "客户清单"})
    assert submitted.status == 200, submitted.body
    rejected = await api.post(f"/v1/items/{item_id}/reject", "zhao.min",
                              json={"reason": REASON})
    assert rejected.status == 200, rejected.body
    return item_id


async def test_the_giver_and_the_receiver_read_why_the_item_was_rejected(api: Api) -> None:
    item_id = await rejected_item(api)
    events = (await api.get(f"/v1/streams/{item_id}/events", "hr.sun")).json()["items"]
    [rejection] = [json.loads(e["entry"]) for e in events if e["type"] == "ItemRejected"]

    for reader in ("wang.lei", "zhao.min", "hr.sun"):
        item = (await api.get(f"/v1/items/{item_id}", reader)).json()
        assert item["state"] == "rejected", reader
        assert item["last_rejection"] == {"by": "zhao.min", "reason": REASON,
                                          "at": rejection["recorded_at"], "submission": 1}

    # the giver resubmits: the rejection they answered still shows, beside the new state
    again = await api.post(f"/v1/items/{item_id}/submit", "wang.lei", json={"note": "补全"})
    assert again.status == 200, again.body
    item = (await api.get(f"/v1/items/{item_id}", "wang.lei")).json()
    assert (item["state"], item["submissions"], item["submission_note"]) == (
        "submitted", 2, "补全")
    assert item["last_rejection"]["reason"] == REASON


async def test_an_item_never_rejected_has_none(api: Api) -> None:
    departure_id = await approved(api)
    item_id = await add_item(api, departure_id)
    assert (await api.get(f"/v1/items/{item_id}", "wang.lei")).json()["last_rejection"] is None


async def test_a_stranger_gets_the_404_of_an_item_that_does_not_exist(api: Api) -> None:
    item_id = await rejected_item(api)
    hidden = await api.get(f"/v1/items/{item_id}", "stranger")
    absent = await api.get(f"/v1/items/{uuid.uuid4()}", "stranger")
    assert hidden.status == absent.status == 404
    assert REASON not in hidden.body.decode()
    assert hidden.problem(404)["title"] == absent.problem(404)["title"]
