"""Fixes to the case's life over HTTP, on both stores: a signatory who cannot sign the handover
confirmation, the dates of a request, frozen access, the leaver's own withdrawal, the request
form, and who sees the case's personal papers."""

from __future__ import annotations

import json

from tests.integration.http_fixtures import Api
from tests.support.handover_case import handed_over_case


async def test_a_deactivated_leaver_is_excused_and_the_close_records_who_did_not_sign(
        api: Api) -> None:
    case = await handed_over_case(api)
    d = f"/v1/departures/{case.departure}"
    statement = (await api.get(d + "/confirmation", "hr.sun")).json()
    for who in statement["unsigned"]:
        if who != "wang.lei":
            signed = await api.post(d + "/confirmation/signatures", who,
                                    json={"statement_sha256": statement["sha256"]})
            assert signed.status == 201, signed.body
    assert (await api.post("/v1/principals/wang.lei/deactivate", "admin")).status == 200
    assert (await api.post(d + "/close", "hr.sun")).problem(409)["unsigned_by"] == ["wang.lei"]
    body = {"signatory": "wang.lei", "statement_sha256": statement["sha256"],
            "reason": "离职后账号已停用，无法签字"}
    (await api.post(d + "/confirmation/exemptions", "li.qiang", json=body)).problem(403)
    excused = await api.post(d + "/confirmation/exemptions", "hr.sun", json=body)
    assert excused.status == 201, excused.body
    assert excused.json()["events"][0]["type"] == "DepartureConfirmationSignatureExcused"
    assert excused.json()["result"]["excused"] == ["wang.lei"]
    again = await api.post(d + "/confirmation/exemptions", "hr.sun", json=body)
    assert again.status == 409
    closed = await api.post(d + "/close", "hr.sun")
    assert closed.status == 200, closed.body
    record = {"confirmation_not_signed_by": "wang.lei", "parties": ["leaver"],
              "statement_sha256": statement["sha256"], "reason": body["reason"],
              "excused_by": "hr.sun"}
    view = (await api.get(d, "hr.sun")).json()
    assert view["closure"]["confirmation_not_signed_by"] == [record]
    assert view["confirmation_exemptions"]["wang.lei"]["reason"] == body["reason"]
    entries = (await api.get(f"/v1/streams/{case.departure}/events", "hr.sun")).json()["items"]
    assert json.loads(entries[-1]["entry"])["payload"]["warnings"] == [record]
