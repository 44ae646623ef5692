"""The handover confirmation (交接确认书) over HTTP, on both stores: the statement, who signs
it (by token or with their own Ed25519 key), and the close it gates.

Seed 000: "交接双方在系统内签署'交接确认书'"; the dispute in 000 arose because there was
"没有双方的签字确认".
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.integration.http_fixtures import Api, serve
from tests.support.confirmation import sign_confirmation_over_http
from tests.support.handover_case import handed_over_case

SIGNATORIES = {"wang.lei": ["leaver"], "it.qian": ["receiver"], "zhao.min": ["receiver"],
               "hr.sun": ["hr"]}


async def test_the_statement_lists_items_states_signers_and_files_with_its_digest(
        api: Api) -> None:
    case = await handed_over_case(api)
    got = await api.get(f"/v1/departures/{case.departure}/confirmation", "hr.sun")
    assert got.status == 200, got.body
    view = got.json()
    statement: str = view["statement"]
    assert view["sha256"] == hashlib.sha256(statement.encode()).hexdigest()
    assert view["signatories"] == SIGNATORIES
    assert view["unsigned"] == list(SIGNATORIES)
    assert statement.startswith("交接确认书 / Handover confirmation\n")
    assert f"事项 / Item: 客户资料 ({case.client_item})\n状态 / State: confirmed\n" in statement
    assert "签字 / Signed off by: zhao.min\n" in statement
    assert "签字 / Signed off by: it.qian\n" in statement
    assert f"文件 / File: clients.txt sha256:{case.client_file}\n" in statement
    again = await api.get(f"/v1/departures/{case.departure}/confirmation", "wang.lei")
    assert again.json()["statement"] == statement  # the same bytes for everyone, every time


async def test_receivers_read_the_statement_and_strangers_learn_nothing(api: Api) -> None:
    case = await handed_over_case(api)
    path = f"/v1/departures/{case.departure}/confirmation"
    view = await api.get(f"/v1/departures/{case.departure}", "zhao.min")  # a receiver
    assert view.status == 200 and view.json()["state"] == "handing_over", view.body
    # ... the case's view, not its raw entries (they carry the leaver's papers' digests)
    assert (await api.get(f"/v1/streams/{case.departure}/events", "zhao.min")).status == 404
    assert (await api.get(f"/v1/departures/{case.departure}", "stranger")).status == 404
    assert (await api.get(path, "zhao.min")).status == 200  # a signatory
    hidden = (await api.get(path, "stranger")).problem(404)
    absent = (await api.get("/v1/departures/00000000-0000-4000-8000-000000000000"
                            "/confirmation", "stranger")).problem(404)
    assert hidden["detail"].replace(case.departure, "X") == absent["detail"].replace(
        "00000000-0000-4000-8000-000000000000", "X")
    signed = await api.post(path + "/signatures", "stranger",
                            json={"statement_sha256": "00" * 32})
    assert signed.problem(404)["detail"] == hidden["detail"]


async def test_close_is_refused_naming_who_has_not_signed_then_allowed(api: Api) -> None:
    case = await handed_over_case(api)
    d = f"/v1/departures/{case.departure}"
    refused = (await api.post(d + "/close", "hr.sun")).problem(409)
    assert refused["unsigned_by"] == list(SIGNATORIES)
    sha256 = (await api.get(d + "/confirmation", "hr.sun")).json()["sha256"]
    signed = await api.post(d + "/confirmation/signatures", "zhao.min",
                            json={"statement_sha256": sha256})
    assert signed.status == 201, signed.body
    assert signed.json()["events"][0]["type"] == "DepartureConfirmationSigned"
    assert signed.json()["result"]["unsigned"] == ["wang.lei", "it.qian", "hr.sun"]
    again = await api.post(d + "/close", "hr.sun")
    assert again.problem(409)["unsigned_by"] == ["wang.lei", "it.qian", "hr.sun"]
    await sign_confirmation_over_http(api, case.departure)
    view = (await api.get(d, "hr.sun")).json()
    assert set(view["confirmation_signatures"]) == set(SIGNATORIES)
    closed = await api.post(d + "/close", "hr.sun")
    assert closed.status == 200, closed.body
    entries = (await api.get(f"/v1/streams/{case.departure}/events", "hr.sun")).json()["items"]
    close_entry = json.loads(entries[-1]["entry"])
    assert close_entry["payload"]["confirmation_sha256"] == sha256


async def test_only_signatories_sign_and_only_the_statement_as_it_stands(api: Api) -> None:
    case = await handed_over_case(api)
    d = f"/v1/departures/{case.departure}"
    sha256 = (await api.get(d + "/confirmation", "hr.sun")).json()["sha256"]
    manager = await api.post(d + "/confirmation/signatures", "li.qiang",
                             json={"statement_sha256": sha256})
    assert "not a signatory" in manager.problem(403)["detail"]
    stale = await api.post(d + "/confirmation/signatures", "wang.lei",
                           json={"statement_sha256": "ab" * 32})
    assert "fetch it again" in stale.problem(409)["detail"]
    bad = await api.post(d + "/confirmation/signatures", "wang.lei",
                         json={"statement_sha256": "AB"})
    bad.problem(422)


async def test_a_signature_no_longer_counts_once_an_item_changes(api: Api) -> None:
    case = await handed_over_case(api)
    d = f"/v1/departures/{case.departure}"
    await sign_confirmation_over_http(api, case.departure)
    before = (await api.get(d + "/confirmation", "hr.sun")).json()
    assert before["unsigned"] == []
    added = await api.post(d + "/items", "hr.sun", json={
        "category": "documents", "title": "项目文档", "receiver": "zhao.min",
        "mandatory": False})
    assert added.status == 201, added.body
    after = (await api.get(d + "/confirmation", "hr.sun")).json()
    assert after["sha256"] != before["sha256"]
    assert after["unsigned"] == list(SIGNATORIES)  # the confirmation must be re-signed
    assert (await api.post(d + "/close", "hr.sun")).problem(409)["unsigned_by"] == list(
        SIGNATORIES)
    await sign_confirmation_over_http(api, case.departure)
    assert (await api.post(d + "/close", "hr.sun")).status == 200


async def test_a_signatory_signs_with_their_own_registered_key(api: Api) -> None:
    case = await handed_over_case(api)
    d = f"/v1/departures/{case.departure}"
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    registered = await api.post("/v1/principals/wang.lei/keys", "wang.lei",
                                json={"public_key": base64.b64encode(public).decode()})
    assert registered.status == 201, registered.body
    key_id = registered.json()["key_id"]
    view = (await api.get(d + "/confirmation", "wang.lei")).json()
    statement = view["statement"]

    def signature(text: str) -> dict[str, str]:
        return {"key_id": key_id, "statement": text,
                "signature": base64.b64encode(key.sign(text.encode())).decode()}

    forged = await api.post(d + "/confirmation/signatures", "wang.lei", json={
        "statement_sha256": view["sha256"], "signature": signature(statement + "x\n")})
    assert "as it stands" in forged.problem(422)["detail"]
    not_theirs = await api.post(d + "/confirmation/signatures", "zhao.min", json={
        "statement_sha256": view["sha256"], "signature": signature(statement)})
    not_theirs.problem(403)
    signed = await api.post(d + "/confirmation/signatures", "wang.lei", json={
        "statement_sha256": view["sha256"], "signature": signature(statement)})
    assert signed.status == 201, signed.body
    assert signed.json()["result"]["signed"] is True
    event = await api.get(f"/v1/events/{signed.json()['events'][0]['id']}", "hr.sun")
    payload = json.loads(event.json()["entry"])["payload"]
    assert payload["statement_sha256"] == view["sha256"]
    assert payload["signature"]["statement"] == statement
    assert payload["signature"]["public_key"] == base64.b64encode(public).decode()


async def test_with_the_confirmation_optional_a_case_closes_on_the_gate_alone(
        database_url: str, tmp_path: Path) -> None:
    async with serve(database_url, tmp_path / "optional",
                     close_requires_confirmation=False) as api:
        case = await handed_over_case(api)
        closed = await api.post(f"/v1/departures/{case.departure}/close", "hr.sun")
        assert closed.status == 200, closed.body
