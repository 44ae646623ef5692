"""Who reads a dispute, on both stores: of a department queue's members only the one who
signed the disputed item off (not everyone working dept:it); auditors read it, and its
events, as legal does, and never state in it."""

from __future__ import annotations

from ledger.principals import Principal
from tests.integration.http_fixtures import Api, add_token
from tests.support.handover_case import handed_over_case


async def test_only_the_queue_member_who_signed_the_item_off_is_a_party(api: Api) -> None:
    await api.runtime.principals.add_principal(Principal("it.sun", "孙 IT", ("it",)))
    api.tokens["it.sun"] = await add_token(api.runtime, "it.sun")
    case = await handed_over_case(api)  # it.qian signed off the account item for dept:it
    raised = await api.post("/v1/disputes", "li.qiang", json={
        "departure_id": case.departure, "item_ids": [case.account_item],
        "claim": "CRM 账号交接后仍可登录"})
    assert raised.status == 201, raised.body
    dispute_id = raised.json()["result"]["dispute_id"]
    d = f"/v1/disputes/{dispute_id}"
    statement = {"text": "已按流程回收", "evidence": []}
    assert (await api.get(d, "it.qian")).status == 200
    assert (await api.post(d + "/statements", "it.qian", json=statement)).status == 201
    (await api.get(d, "it.sun")).problem(404)
    (await api.get(f"/v1/streams/{dispute_id}/events", "it.sun")).problem(404)
    (await api.post(d + "/statements", "it.sun", json=statement)).problem(404)


async def test_auditors_read_a_dispute_and_its_events_but_never_state(api: Api) -> None:
    case = await handed_over_case(api)
    raised = await api.post("/v1/disputes", "zhao.min", json={
        "departure_id": case.departure, "item_ids": [case.client_item], "claim": "隐瞒"})
    dispute_id = raised.json()["result"]["dispute_id"]
    view = (await api.get(f"/v1/departures/{case.departure}", "audit.x")).json()
    assert view["dispute_ids"] == [dispute_id]
    dispute = await api.get(f"/v1/disputes/{dispute_id}", "audit.x")
    assert dispute.status == 200 and dispute.json()["claim"] == "隐瞒"
    events = await api.get(f"/v1/streams/{dispute_id}/events", "audit.x")
    assert [e["type"] for e in events.json()["items"]] == ["DisputeRaised"]
    (await api.post(f"/v1/disputes/{dispute_id}/statements", "audit.x",
                    json={"text": "x", "evidence": []})).problem(403)
    (await api.post(f"/v1/disputes/{dispute_id}/finding", "audit.x",
                    json={"responsibility": "none", "reasons": "x"})).problem(403)
