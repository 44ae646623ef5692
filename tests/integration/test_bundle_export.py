"""Evidence bundle export (issue 11, docs/bundle-format.md) over HTTP, on both stores.

Each bundle is checked with the ledger's own verify functions: the manifest's digests, each
entry's tlog-proof against the one checkpoint, the signature note under the log's verifier.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import sqlite3
import uuid
import zipfile
from pathlib import Path

import aiohttp
import pytest

from ledger.aggregates.template import Template, template_id_for
from ledger.bundle import layout as L
from ledger.canonical import encode_canonical
from ledger.cli import main
from ledger.entry import hash_entry
from ledger.tlog.checkpoint import open_checkpoint
from ledger.tlog.note import open_note
from ledger.tlog.proof_text import parse_tlog_proof, verify_tlog_proof
from ledger.verify_gate import verify_gate
from tests.conftest import TEST_ORIGIN
from tests.integration.http_fixtures import Api, Reply, serve
from tests.support.bundle import Bundle
from tests.support.case_steps import apply, approve, started
from tests.support.confirmation import sign_confirmation_over_http
from tests.support.handover_case import Case, handed_over_case

FIXED = [L.MIMETYPE, L.MANIFEST, L.SIGNATURE, L.README, L.CHECKPOINT, L.KEYS, L.VERIFY_PY,
         L.REPORT_HTML, L.REPORT_PDF]


async def export(api: Api, departure: str, who: str = "hr.sun", *,
                 with_files: bool = False) -> Bundle:
    await api.sequence()
    reply = await api.get(f"/v1/departures/{departure}/bundle"
                          f"?with_files={'true' if with_files else 'false'}", who)
    assert reply.status == 200, reply.body[:300]
    assert reply.content_type == L.MEDIA_TYPE
    assert reply.headers["Content-Disposition"] == (
        f'attachment; filename="evidence-{departure}.zip"')
    return Bundle(reply.body)


async def closed_case(api: Api) -> Case:
    case = await handed_over_case(api)
    await sign_confirmation_over_http(api, case.departure)
    closed = await api.post(f"/v1/departures/{case.departure}/close", "hr.sun")
    assert closed.status == 200, closed.body
    return case


def check_container(bundle: Bundle) -> None:
    """The spec's order, mimetype first and stored, one timestamp, no directory entry."""
    infos = bundle.zip.infolist()
    names = [i.filename for i in infos]
    assert names[:len(FIXED)] == FIXED
    rest = names[len(FIXED):]
    entries = [n for n in rest if n.startswith("entries/")]
    proofs = [n for n in rest if n.startswith("proofs/")]
    files = [n for n in rest if n.startswith("files/")]
    assert rest == entries + proofs + files
    assert entries == sorted(entries) and proofs == sorted(proofs) and files == sorted(files)
    assert [p.replace("proofs/", "entries/").replace(".tlog-proof", ".json")
            for p in proofs] == entries
    first = infos[0]
    assert first.compress_type == zipfile.ZIP_STORED and first.extra == b""
    assert bundle.data[30:38] == b"mimetype"  # the local header names it, no extra field
    assert bundle.data[38:38 + len(L.MEDIA_TYPE)] == L.MEDIA_TYPE.encode()
    generated = dt.datetime.fromisoformat(bundle.manifest()["generated_at"])
    for info in infos:
        assert not info.is_dir() and info.extra == b"" and info.comment == b""
        assert info.date_time == (generated.year, generated.month, generated.day,
                                  generated.hour, generated.minute,
                                  generated.second // 2 * 2)  # DOS time: 2-second steps


def check_manifest(bundle: Bundle, departure: str) -> dict[str, object]:
    """Canonical, listing every member but the three with size and digest."""
    raw = bundle.read(L.MANIFEST)
    manifest = bundle.manifest()
    assert encode_canonical(manifest) == raw
    assert manifest["departure_id"] == departure and manifest["bundle_format"] == 1
    listed = {f["path"]: f for f in manifest["files"]}
    assert sorted(listed) == sorted(set(bundle.names()) - {L.MIMETYPE, L.MANIFEST,
                                                           L.SIGNATURE})
    assert [f["path"] for f in manifest["files"]] == sorted(listed, key=str.encode)
    for path, record in listed.items():
        data = bundle.read(path)
        assert (record["size"], record["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    files = {n: bundle.read(n) for n in bundle.names()}
    assert manifest["report_source_sha256"] == L.report_source_sha256(files)
    return manifest


def check_proofs_and_signature(api: Api, bundle: Bundle) -> None:
    """Every entry proven against the one checkpoint; the manifest signed by the log's key."""
    verifiers = api.runtime.verifiers
    note = bundle.read(L.CHECKPOINT)
    checkpoint = open_checkpoint(note, verifiers, TEST_ORIGIN)
    manifest = bundle.manifest()
    assert manifest["checkpoint"]["size"] == checkpoint.size
    for name in bundle.names():
        if not name.startswith("entries/"):
            continue
        proof = bundle.read(name.replace("entries/", "proofs/", 1).replace(".json",
                                                                          ".tlog-proof"))
        assert parse_tlog_proof(proof).signed_checkpoint == note
        verify_tlog_proof(proof, hash_entry(bundle.read(name)), verifiers, TEST_ORIGIN)
    opened = open_note(bundle.read(L.SIGNATURE), verifiers)
    assert opened.text == L.signature_text(manifest["departure_id"], bundle.read(L.MANIFEST))
    assert bundle.read(L.KEYS).decode().splitlines() == [v.vkey for v in verifiers]


async def test_a_closed_case_exports_a_final_bundle_that_verifies(api: Api) -> None:
    case = await closed_case(api)
    bundle = await export(api, case.departure)
    check_container(bundle)
    manifest = check_manifest(bundle, case.departure)
    check_proofs_and_signature(api, bundle)
    assert manifest["status"] == "final" and manifest["with_files"] is False
    assert manifest["time_zone"] == "Asia/Shanghai"
    streams = manifest["streams"]
    assert isinstance(streams, list)
    assert [s["type"] for s in streams] == ["departure", "item", "item"]
    assert {s["id"] for s in streams} == {case.departure, case.client_item, case.account_item}
    for stream in streams:
        last = f"entries/{stream['type']}/{stream['id']}/{stream['versions']:06d}.json"
        assert hashlib.sha256(bundle.read(last)).hexdigest() == stream["head"]
    assert "DepartureClosed" in bundle.entry_types()
    assert not any(n.startswith("files/") for n in bundle.names())
    readme = bundle.read(L.README).decode()
    assert "python3 -I verify.py --key" in readme and "如何验证" in readme
    assert "ledger verify-bundle bundle.zip --key" in readme


async def test_an_open_case_exports_an_interim_bundle(api: Api) -> None:
    case = await handed_over_case(api)
    bundle = await export(api, case.departure)
    manifest = check_manifest(bundle, case.departure)
    check_proofs_and_signature(api, bundle)
    assert manifest["status"] == "interim"
    assert "interim bundle" in bundle.read(L.README).decode()


async def test_each_export_is_recorded_and_in_the_next_bundle(api: Api) -> None:
    case = await closed_case(api)
    first = await export(api, case.departure, "legal.x")
    assert "DepartureEvidenceExported" not in first.entry_types()
    second = await export(api, case.departure, "wang.lei")
    exported = [json.loads(second.read(n)) for n in second.names()
                if n.startswith("entries/departure/")][-1]
    assert exported["type"] == "DepartureEvidenceExported"
    assert exported["actor"]["id"] == "legal.x"
    payload = exported["payload"]
    first_manifest = first.manifest()
    assert payload == {
        "by": "legal.x", "bundle_format": 1, "status": "final",
        "checkpoint": first_manifest["checkpoint"], "with_files": False,
        "manifest_sha256": hashlib.sha256(first.read(L.MANIFEST)).hexdigest()}
    assert second.manifest()["status"] == "final"  # an export changes nothing of the case
    check_proofs_and_signature(api, second)
    assert await verify_gate(api.runtime.store) == []  # allowed after the close
    timeline = await api.get(f"/v1/departures/{case.departure}/timeline", "hr.sun")
    assert timeline.status == 200, timeline.body[:300]
    assert b"exported the evidence bundle" in timeline.body


async def test_with_files_carries_each_upload_named_by_its_digest(api: Api) -> None:
    case = await closed_case(api)
    bundle = await export(api, case.departure, with_files=True)
    manifest = check_manifest(bundle, case.departure)
    assert manifest["with_files"] is True
    assert [n for n in bundle.names() if n.startswith("files/")] == [
        f"files/{case.client_file}"]
    content = bundle.read(f"files/{case.client_file}")
    assert hashlib.sha256(content).hexdigest() == case.client_file
    assert content == "宏达科技 二期需求\n".encode()


@pytest.mark.parametrize(("who", "role"), [("hr.sun", None), ("hr.zhou", None),
                                           ("legal.x", None), ("legal.mgr", "legal"),
                                           ("wang.lei", None)])
async def test_hr_legal_and_the_leaver_may_export(api: Api, who: str, role: str | None) -> None:
    case = await handed_over_case(api)
    await api.sequence()
    reply = await api.get(f"/v1/departures/{case.departure}/bundle", who, role=role)
    assert reply.status == 200, reply.body[:300]


@pytest.mark.parametrize(("who", "role"), [("zhao.min", None), ("li.qiang", None),
                                           ("stranger", None), ("it.qian", None),
                                           ("audit.x", None), ("legal.mgr", "employee"),
                                           ("admin", None)])
async def test_anyone_else_finds_no_bundle(api: Api, who: str, role: str | None) -> None:
    case = await handed_over_case(api)
    await api.sequence()
    refused = await api.get(f"/v1/departures/{case.departure}/bundle", who, role=role)
    missing = await api.get("/v1/departures/00000000-0000-4000-8000-000000000000/bundle",
                            who, role=role)
    refused_problem, missing_problem = refused.problem(404), missing.problem(404)
    assert refused_problem["title"] == missing_problem["title"]
    assert refused_problem["detail"].replace(case.departure, "X") == (
        missing_problem["detail"].replace("00000000-0000-4000-8000-000000000000", "X"))
    await api.sequence()
    assert await _exports(api, case.departure) == 0


async def test_an_unsequenced_case_is_refused_with_a_retry(api: Api) -> None:
    case = await handed_over_case(api)
    api.runtime.exporter.__dict__["wait_seconds"] = 0.2  # frozen dataclass: a test's shortcut
    refused: Reply = await api.get(f"/v1/departures/{case.departure}/bundle", "hr.sun")
    problem = refused.problem(503)
    assert "not yet covered" in problem["detail"]
    assert refused.headers.get("Retry-After")


async def test_a_bad_flag_is_refused(api: Api) -> None:
    case = await handed_over_case(api)
    reply = await api.get(f"/v1/departures/{case.departure}/bundle?with_files=yes", "hr.sun")
    reply.problem(422)


async def _exports(api: Api, departure: str) -> int:
    entries = await api.runtime.ledger.entries(uuid.UUID(departure))
    return sum(e.event_type == "DepartureEvidenceExported" for e in entries)


async def test_the_cli_sequences_the_case_itself_and_writes_the_bundle(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = f"sqlite:///{tmp_path}/cli.db"
    async with serve(database, tmp_path) as api:
        case = await closed_case(api)  # nothing sequenced: no server sequences here
        verifiers = api.runtime.verifiers
    for name, value in {"LEDGER_DATABASE_URL": database, "LEDGER_DATA_DIR": str(tmp_path),
                        "LEDGER_KEY_DIR": str(tmp_path / "keys"),
                        "LEDGER_LOG_ORIGIN": TEST_ORIGIN}.items():
        monkeypatch.setenv(name, value)
    output = tmp_path / "bundle.zip"
    argv = ["export", case.departure, "-o", str(output), "--with-files", "--as", "legal.x"]
    assert await asyncio.to_thread(main, argv) == 0
    bundle = Bundle(output.read_bytes())
    manifest = check_manifest(bundle, case.departure)
    assert manifest["status"] == "final" and manifest["with_files"] is True
    assert f"files/{case.client_file}" in bundle.names()
    for name in bundle.names():
        if name.startswith("entries/"):
            proof = bundle.read(name.replace("entries/", "proofs/", 1).replace(
                ".json", ".tlog-proof"))
            verify_tlog_proof(proof, hash_entry(bundle.read(name)), verifiers, TEST_ORIGIN)
    assert await asyncio.to_thread(main, argv) == 2  # never overwrites without --force
    refused = ["export", case.departure, "-o", str(tmp_path / "other.zip"), "--as", "zhao.min"]
    assert await asyncio.to_thread(main, refused) == 2
    assert not (tmp_path / "other.zip").exists()
    assert not await asyncio.to_thread(lambda: list(tmp_path.glob(".*.partial")))

    def recorded() -> int:
        with contextlib.closing(sqlite3.connect(tmp_path / "cli.db")) as db:
            return int(db.execute("SELECT count(*) FROM events WHERE event_type = "
                                  "'DepartureEvidenceExported'").fetchone()[0])

    before = recorded()
    nowhere = ["export", case.departure, "-o", str(tmp_path / "missing" / "x.zip"), "--as",
               "legal.x"]
    assert await asyncio.to_thread(main, nowhere) == 2  # refused before the export is recorded
    assert recorded() == before == 1


async def test_a_bundle_holds_the_applied_checklist_revisions_and_the_disputes(
        api: Api) -> None:
    departure = await started(api)
    await approve(api, departure)
    items = await apply(api, departure, "sales")
    template = template_id_for("sales")
    bundle = await export(api, departure)
    manifest = check_manifest(bundle, departure)
    check_proofs_and_signature(api, bundle)
    streams = {(s["type"], s["id"]): s["versions"] for s in manifest["streams"]}
    assert {i for t, i in streams if t == "item"} == set(items)
    revision = (await api.runtime.ledger.load(Template, template)).revision
    assert streams[("template", str(template))] == revision
    assert [n for n in bundle.names() if n.startswith(f"entries/template/{template}/")] == [
        L.entry_path("template", str(template), v) for v in range(1, revision + 1)]
    case = await closed_case(api)
    raised = await api.post("/v1/disputes", "zhao.min", json={
        "departure_id": case.departure, "item_ids": [case.client_item],
        "claim": "宏达科技最新需求在交接时被隐瞒"})
    assert raised.status == 201, raised.body
    dispute = raised.json()["result"]["dispute_id"]
    bundle = await export(api, case.departure, "legal.x")
    manifest = check_manifest(bundle, case.departure)
    check_proofs_and_signature(api, bundle)
    assert [s["type"] for s in manifest["streams"]] == ["departure", "item", "item", "dispute"]
    assert manifest["streams"][-1]["id"] == dispute
    assert manifest["status"] == "final"  # under legal hold, still closed


async def test_a_withdrawn_case_is_final_and_the_board_takes_the_export(api: Api) -> None:
    departure = await started(api)
    withdrawn = await api.post(f"/v1/departures/{departure}/withdraw", "hr.sun",
                               json={"reason": "stays after all"})
    assert withdrawn.status == 200, withdrawn.body
    bundle = await export(api, departure)
    assert check_manifest(bundle, departure)["status"] == "final"
    board = await api.read_model(f"/v1/boards/departures/{departure}", "hr.sun")
    assert board.status == 200, board.body[:300]
    assert board.json()["departure"]["state"] == "withdrawn"
    assert await _exports(api, departure) == 1


async def test_an_item_id_is_no_departure_to_export(api: Api) -> None:
    case = await handed_over_case(api)
    await api.sequence()
    reply = await api.get(f"/v1/departures/{case.client_item}/bundle", "hr.sun")
    reply.problem(404)


async def test_exports_of_one_case_at_once_are_each_recorded(api: Api) -> None:
    """Two exports of one case at the same moment: both answer with a bundle (the second
    records its export after the first's), neither a conflict."""
    case = await handed_over_case(api)
    await api.sequence()
    path = f"/v1/departures/{case.departure}/bundle"
    replies = await asyncio.gather(api.get(path, "hr.sun"), api.get(path, "legal.x"))
    assert [r.status for r in replies] == [200, 200], [r.body[:200] for r in replies]
    assert await _exports(api, case.departure) == 2


async def test_the_verifier_every_bundle_carries_is_published_without_a_login(api: Api) -> None:
    """So an auditor can check a bundle with a verify.py that did not travel inside it."""
    case = await handed_over_case(api)
    bundle = await export(api, case.departure)
    async with aiohttp.ClientSession() as http, http.get(api.url("/log/verify.py")) as reply:
        assert reply.status == 200 and reply.content_type == "text/x-python"
        assert await reply.read() == bundle.read(L.VERIFY_PY)
    assert "GET /log/verify.py" in bundle.read(L.README).decode()
