"""``POST /v1/commands`` over HTTP on each store: the commands that succeed commit together,
each keeps its own status, body and idempotency key, and later commands see earlier ones."""

from __future__ import annotations

import uuid
from typing import Any

from tests.integration.http_fixtures import Api
from tests.support.case_steps import add_item, approved, entries


def comment(item_id: str, text: str, key: str | None = None) -> dict[str, Any]:
    command = {"type": "comment_item", "item_id": item_id, "text": text}
    return {"command": command} if key is None else {"idempotency_key": key, "command": command}


async def test_a_batch_commits_the_commands_around_a_failing_one_and_replays_by_key(
        api: Api) -> None:
    departure_id = await approved(api)
    first, second = await add_item(api, departure_id), await add_item(api, departure_id)
    batch = {"commands": [
        comment(first, "客户名单已核对", "day-1"),
        {"idempotency_key": "day-2", "command": {"type": "confirm_item", "item_id": second}},
        {"command": {"type": "comment_item", "item_id": first}},  # no text: 422
        {"idempotency_key": "day-3", "command": {
            "type": "waive_item", "item_id": second, "reason": "客户已流失"}},
        {"idempotency_key": "day-4", "command": {
            "type": "waive_item", "item_id": second, "reason": "again"}},
    ]}
    count = await api.runtime.store.count_events()
    reply = await api.post("/v1/commands", "hr.sun", json=batch)
    assert reply.status == 200, reply.body
    results = reply.json()["results"]
    assert [r["status"] for r in results] == [201, 409, 422, 200, 409]
    assert "waived" in results[4]["problem"]["detail"]  # the first waive was seen
    assert await api.runtime.store.count_events() == count + 2
    assert [e["type"] for e in await entries(api, second)] == ["ItemCreated", "ItemWaived"]

    again = (await api.post("/v1/commands", "hr.sun", json=batch)).json()["results"]
    assert [r["status"] for r in again] == [201, 409, 422, 200, 409]
    assert [again[n]["replayed"] for n in (0, 3)] == [True, True]
    assert [again[n]["body"] for n in (0, 3)] == [results[n]["body"] for n in (0, 3)]
    assert await api.runtime.store.count_events() == count + 2


async def test_commands_of_a_batch_on_one_item_chain_in_order(api: Api) -> None:
    departure_id = await approved(api)
    item = await add_item(api, departure_id)
    reply = await api.post("/v1/commands", "wang.lei", json={"commands": [
        {"command": {"type": "submit_item", "item_id": item, "note": "已交接"}},
        comment(item, "文件在共享盘"),
        comment(item, "密码已转交", f"k-{uuid.uuid4()}"),
    ]})
    results = reply.json()["results"]
    assert [r["status"] for r in results] == [200, 201, 201]
    assert [r["body"]["events"][0]["version"] for r in results] == [2, 3, 4]
    chain = await entries(api, item)
    assert [e["type"] for e in chain] == [
        "ItemCreated", "ItemSubmitted", "ItemCommented", "ItemCommented"]
    hashes = [r["body"]["events"][0]["hash"] for r in results]
    assert [e["prev"] for e in chain[2:]] == hashes[:2]
    confirmed = await api.post(f"/v1/items/{item}/confirm", "zhao.min",
                               json={"expected_version": 4})
    assert confirmed.status == 200, confirmed.body
