"""The board's stored entries (``ledger.projections.board_entries``) follow a case's state as
well as its items': an accepted case asks its givers to submit, a closed or withdrawn one
asks nothing, and the inboxes and queues read from them are those the reference reads from
every open item (``tests.support.queue_reference``), before and after a rebuild."""

from __future__ import annotations

from ledger.projections.board import tables
from ledger.projections.board_queries import board_position
from tests.integration.http_fixtures import Api
from tests.integration.test_http_api import start
from tests.support.queue_reference import entries_match_reference

PARTIES = ("wang.lei", "zhao.min", "li.qiang", "hr.sun", "dept:it", "dept:finance")


async def _entries(api: Api, party: str) -> list[tuple[str, str]]:
    await api.sequence()
    await api.runtime.board.catch_up()
    store = api.runtime.projections
    t = tables((await board_position(store)).generation)
    await entries_match_reference(store, PARTIES)
    rows = await store.fetch(f"SELECT action, item_id FROM {t['entries']} WHERE party = $1 "
                             "ORDER BY item_id, action", party)
    return [(r["action"], r["item_id"]) for r in rows]


async def _actions(api: Api, party: str) -> set[str]:
    return {action for action, _ in await _entries(api, party)}


async def test_a_cases_approval_and_withdrawal_change_its_items_entries(api: Api) -> None:
    case = await start(api)
    assert await _entries(api, "wang.lei") == []  # the case on the board before its items
    assert (await api.post(f"/v1/departures/{case}/submit", "hr.sun")).status == 200
    applied = await api.post(f"/v1/departures/{case}/templates", "hr.sun",
                             json={"template_key": "clearance"})  # while approval is pending
    assert applied.status == 200, applied.body
    # not yet accepted: givers are not asked to submit what is not urgent; the finance
    # queue sees the settlement it gives as awaiting, the IT queue what it receives
    assert await _actions(api, "dept:finance") == {"awaiting_giver"}
    assert await _actions(api, "dept:it") == {"awaiting_giver"}
    assert "submit" not in await _actions(api, "wang.lei")
    approve = await api.post(f"/v1/departures/{case}/approvals/0/approve", "li.qiang")
    assert approve.json()["result"]["state"] in ("approved", "handing_over")
    # only the case changed, yet its items ask their givers now
    assert "submit" in await _actions(api, "dept:finance")
    assert "submit" in await _actions(api, "wang.lei")
    assert await _actions(api, "dept:it") == {"awaiting_giver"}
    live = {party: await _entries(api, party) for party in PARTIES}
    await api.runtime.board.rebuild()
    assert {party: await _entries(api, party) for party in PARTIES} == live
    withdrawn = await api.post(f"/v1/departures/{case}/withdraw", "hr.sun",
                               json={"reason": "留任"})
    assert withdrawn.status == 200, withdrawn.body
    for party in PARTIES:  # a withdrawn case asks nothing of anyone
        assert await _entries(api, party) == [], party
