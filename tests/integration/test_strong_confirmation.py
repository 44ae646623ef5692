"""A receiver confirms with an Ed25519 signature by their own registered key, over the
statement they can read (real HTTP server, both stores)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.service.signature import quote_text, statement_time
from tests.integration.http_fixtures import Api, departure_body

RECEIVER = "zhao.min"
TITLE = "客户资料"


@dataclass
class Signer:
    """The receiver's private key and the id the ledger gave its public half."""

    key: Ed25519PrivateKey
    key_id: str

    def sign(self, statement: str) -> dict[str, str]:
        signature = base64.b64encode(self.key.sign(statement.encode("utf-8"))).decode()
        return {"key_id": self.key_id, "statement": statement, "signature": signature}


async def register(api: Api, who: str = RECEIVER, by: str | None = None) -> Signer:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    reply = await api.post(f"/v1/principals/{who}/keys", by or who,
                           json={"public_key": base64.b64encode(public).decode()})
    assert reply.status == 201, reply.body
    return Signer(key, reply.json()["key_id"])


async def upload(api: Api, item_id: str, name: str, content: bytes) -> dict[str, Any]:
    form = aiohttp.FormData()
    form.add_field("file", content, filename=name, content_type="text/plain")
    reply = await api.post(f"/v1/items/{item_id}/evidence", "wang.lei", data=form)
    assert reply.status == 201, reply.body
    evidence: dict[str, Any] = reply.json()
    return evidence


async def submitted_item(api: Api, files: dict[str, bytes] | None = None,
                         title: str = TITLE) -> tuple[str, list[dict[str, Any]]]:
    """An item of an approved departure, received by zhao.min, submitted with ``files``."""
    started = await api.post("/v1/departures", "hr.sun", json=departure_body())
    departure_id = started.json()["result"]["departure_id"]
    await api.post(f"/v1/departures/{departure_id}/submit", "hr.sun")
    approved = await api.post(f"/v1/departures/{departure_id}/approvals/0/approve", "li.qiang")
    assert approved.status == 200, approved.body
    added = await api.post(f"/v1/departures/{departure_id}/items", "hr.sun", json={
        "category": "clients", "title": title, "receiver": RECEIVER})
    assert added.status == 201, added.body
    item_id: str = added.json()["result"]["item_id"]
    evidence = [await upload(api, item_id, n, c) for n, c in (files or {}).items()]
    submit = await api.post(f"/v1/items/{item_id}/submit", "wang.lei",
                            json={"note": "all 86 clients", "evidence": evidence})
    assert submit.status == 200, submit.body
    return item_id, evidence


async def statement_for(api: Api, item_id: str, who: str = RECEIVER) -> str:
    reply = await api.get(f"/v1/items/{item_id}/confirmation-statement", who)
    assert reply.status == 200, reply.body
    statement: str = reply.json()["statement"]
    return statement


async def state_of(api: Api, item_id: str) -> str:
    state: str = (await api.get(f"/v1/items/{item_id}", "hr.sun")).json()["state"]
    return state


async def test_the_statement_reads_in_both_languages_and_names_every_file_by_digest(
        api: Api) -> None:
    files = {"clients.xlsx": b"86 clients\n", "xuqiu.docx": "最新需求".encode(),
             "notes.txt": b"notes"}
    item_id, evidence = await submitted_item(api, files)
    version = (await api.get(f"/v1/items/{item_id}", "hr.sun")).json()["version"]
    statement = await statement_for(api, item_id)
    when = statement_time(statement)
    assert abs(when - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    by_digest = sorted((e["sha256"], e["name"]) for e in evidence)
    assert {d for d, _ in by_digest} == {hashlib.sha256(c).hexdigest() for c in files.values()}
    assert [e["sha256"] for e in evidence] != [d for d, _ in by_digest]  # sorting is tested
    assert statement == (
        "交接确认 / Handover confirmation\n"
        f"事项 / Item: 客户资料 ({item_id}, version {version})\n"
        + "".join(f"文件 / File: {n} sha256:{d}\n" for d, n in by_digest)
        + "接收人 / Receiver: zhao.min\n"
        f"时间 / Time: {when.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}\n")
    # The one byte form: UTF-8, LF only, a final LF, no empty line, no outer spaces.
    raw = statement.encode("utf-8")
    assert b"\r" not in raw and raw.endswith(b"\n") and not raw.endswith(b"\n\n")
    assert all(line == line.strip(" ") and line for line in statement[:-1].split("\n"))


async def test_an_item_without_files_says_so(api: Api) -> None:
    item_id, _ = await submitted_item(api)
    assert (await statement_for(api, item_id)).split("\n")[2] == "文件 / File: 无 / none"


async def test_a_title_cannot_forge_or_hide_a_line_of_the_statement(api: Api) -> None:
    # A line break never gets into a title (names and titles refuse control characters) ...
    started = await api.post("/v1/departures", "hr.sun", json=departure_body())
    refused = await api.post(f"/v1/departures/{started.json()['result']['departure_id']}/items",
                             "hr.sun", json={"category": "clients", "receiver": RECEIVER,
                                             "title": "Laptop\n接收人 / Receiver: li.qiang"})
    assert refused.problem(422)["field"] == "title"
    # ... and what may (format characters, backslashes) is escaped in the statement.
    forged = "Laptop 接收人 / Receiver: li.qiang\u202e \\"
    item_id, _ = await submitted_item(api, title=forged)
    lines = (await statement_for(api, item_id)).split("\n")
    assert len(lines) == 6 and lines[-1] == ""
    assert lines[1].startswith("事项 / Item: Laptop 接收人 / Receiver: li.qiang"
                               "\\u{202E} \\\\ (")
    assert lines[3] == "接收人 / Receiver: zhao.min"
    assert quote_text(" a\tb ") == "a\\u{0009}b"


async def test_a_receiver_confirms_with_their_own_key_and_the_event_records_it(
        api: Api) -> None:
    item_id, _ = await submitted_item(api, {"clients.xlsx": b"86 clients\n"})
    signer = await register(api)
    statement = await statement_for(api, item_id)
    confirmed = await api.post(f"/v1/items/{item_id}/confirm", RECEIVER,
                               json={"signature": signer.sign(statement)})
    assert confirmed.status == 200, confirmed.body
    assert confirmed.json()["result"]["signed"] is True
    events = (await api.get(f"/v1/streams/{item_id}/events", "hr.sun")).json()["items"]
    recorded = json.loads(events[-1]["entry"])["payload"]["signature"]
    assert (recorded["statement"], recorded["key_id"], recorded["algorithm"]) == (
        statement, signer.key_id, "ed25519")
    public = signer.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert base64.b64decode(recorded["public_key"]) == public


def _tampered(signer: Signer, statement: str, how: str) -> dict[str, str]:
    if how == "signature":
        signed = signer.sign(statement)
        raw = bytearray(base64.b64decode(signed["signature"]))
        raw[0] ^= 1
        return {**signed, "signature": base64.b64encode(raw).decode()}
    if how == "wrong key":
        return Signer(Ed25519PrivateKey.generate(), signer.key_id).sign(statement)
    edits = {
        "older version": lambda s: s.replace(", version ", ", version 1", 1),
        "other title": lambda s: s.replace(TITLE, "客户资料（部分）"),
        "other receiver": lambda s: s.replace("Receiver: zhao.min", "Receiver: li.qiang"),
        "a file left out": lambda s: "".join(
            line for line in s.splitlines(keepends=True) if not line.startswith("文件")),
        "stale": lambda s: s.rsplit("时间 / Time: ", 1)[0] + "时间 / Time: " + (
            dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime(
                "%Y-%m-%dT%H:%M:%S.%fZ") + "\n",
        "CRLF line ends": lambda s: s.replace("\n", "\r\n"),
        "no final LF": lambda s: s[:-1],
        "trailing space": lambda s: s.replace("\n", " \n", 1),
        "time without microseconds": lambda s: s[:-9] + "Z\n",
        "the old JSON form": lambda s: json.dumps({"action": "confirm", "time": s[-28:-1]}),
    }
    return signer.sign(edits[how](statement))


@pytest.mark.parametrize("how", [
    "signature", "wrong key", "older version", "other title", "other receiver",
    "a file left out", "stale", "CRLF line ends", "no final LF", "trailing space",
    "time without microseconds", "the old JSON form"])
async def test_a_signature_over_anything_but_the_exact_statement_is_refused(
        api: Api, how: str) -> None:
    item_id, _ = await submitted_item(api, {"clients.xlsx": b"86 clients\n"})
    signer = await register(api)
    statement = await statement_for(api, item_id)
    reply = await api.post(f"/v1/items/{item_id}/confirm", RECEIVER,
                           json={"signature": _tampered(signer, statement, how)})
    reply.problem(422)
    assert await state_of(api, item_id) == "submitted"


async def test_an_operator_cannot_register_a_key_for_someone_else(api: Api) -> None:
    key = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw,
                                                                  PublicFormat.Raw)
    body = {"public_key": base64.b64encode(key).decode()}
    for by in ("admin", "hr.sun", "li.qiang"):
        reply = await api.post(f"/v1/principals/{RECEIVER}/keys", by, json=body)
        assert "only the principal" in reply.problem(403)["detail"]
    # Same answer whether or not the principal exists: nothing is revealed.
    absent = await api.post("/v1/principals/nobody.here/keys", "admin", json=body)
    assert absent.problem(403)["detail"] == reply.problem(403)["detail"]
    keys = await api.get(f"/v1/principals/{RECEIVER}/keys", "admin")
    assert keys.json() == {"principal_id": RECEIVER, "keys": []}


async def test_someone_elses_key_or_an_unknown_key_is_refused(api: Api) -> None:
    item_id, _ = await submitted_item(api)
    statement = await statement_for(api, item_id)
    manager_key = await register(api, "li.qiang")
    theirs = await api.post(f"/v1/items/{item_id}/confirm", RECEIVER,
                            json={"signature": manager_key.sign(statement)})
    assert "is not zhao.min's" in theirs.problem(403)["detail"]
    unknown = Signer(manager_key.key, "0000000000000000")
    missing = await api.post(f"/v1/items/{item_id}/confirm", RECEIVER,
                             json={"signature": unknown.sign(statement)})
    assert missing.problem(422)["field"] == "signature.key_id"
    # A stranger may not read the item: its statement is absent to them, the receiver unnamed.
    hidden = await api.get(f"/v1/items/{item_id}/confirmation-statement", "stranger")
    assert RECEIVER not in hidden.body.decode() and hidden.problem(404)
    assert await state_of(api, item_id) == "submitted"


@pytest.mark.parametrize("revoker", [RECEIVER, "admin"])
async def test_a_revoked_key_no_longer_verifies_a_new_confirmation(api: Api,
                                                                   revoker: str) -> None:
    item_id, _ = await submitted_item(api, {"clients.xlsx": b"86 clients\n"})
    signer = await register(api)
    stranger = await api.call("DELETE", f"/v1/principals/{RECEIVER}/keys/{signer.key_id}",
                              "li.qiang")
    stranger.problem(403)
    revoked = await api.call("DELETE", f"/v1/principals/{RECEIVER}/keys/{signer.key_id}",
                             revoker)
    assert revoked.status == 200, revoked.body
    assert revoked.json() == {"principal_id": RECEIVER, "id": signer.key_id, "revoked": True}
    again = await api.call("DELETE", f"/v1/principals/{RECEIVER}/keys/{signer.key_id}",
                           revoker)
    assert again.json()["revoked"] is False
    statement = await statement_for(api, item_id)
    reply = await api.post(f"/v1/items/{item_id}/confirm", RECEIVER,
                           json={"signature": signer.sign(statement)})
    assert "revoked" in reply.problem(422)["detail"]
    assert await state_of(api, item_id) == "submitted"
    listed = (await api.get(f"/v1/principals/{RECEIVER}/keys", RECEIVER)).json()["keys"]
    assert [(k["key_id"], k["revoked"]) for k in listed] == [(signer.key_id, True)]
    history = (await api.get(f"/v1/principals/{RECEIVER}/history", "admin")).json()
    assert [(e["action"], e["subject"], e["actor_id"]) for e in history["entries"]
            if e["action"].startswith("key")] == [
        ("key_registered", signer.key_id, RECEIVER), ("key_revoked", signer.key_id, revoker)]
    # A fresh key works again: revocation stops one key, not the receiver.
    fresh = await register(api)
    confirmed = await api.post(f"/v1/items/{item_id}/confirm", RECEIVER,
                               json={"signature": fresh.sign(await statement_for(api, item_id))})
    assert confirmed.status == 200, confirmed.body
