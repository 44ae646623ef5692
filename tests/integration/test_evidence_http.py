"""Evidence files over HTTP on SQLite and PostgreSQL: an upload is an event on its item, a
submission cites only that item's uploads, a download reaches only those who may read the item
and tells nobody else anything, and the file is served so that a browser never runs it."""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from api.app import build_app
from ledger.bootstrap import bootstrap
from ledger.errors import ConfigurationError
from ledger.settings import Settings
from ledger.store.blob_factory import blob_store_for
from ledger.store.blob_fs import FilesystemBlobStore
from ledger.store.postgres_blobs import PostgresBlobStore
from tests.conftest import TEST_ORIGIN
from tests.integration.http_fixtures import Api, Reply, departure_body, serve
from tests.support.blob_tamper import change_blob, delete_blob
from tests.support.confirmation import sign_confirmation_over_http

MISSING_ITEM = "00000000-0000-4000-8000-000000000000"
BOUNDARY = "evidence-boundary-7f1d9c2e"


# --- steps --------------------------------------------------------------------------------------

async def case(api: Api, leaver: str = "wang.lei", receiver: str = "zhao.min") -> tuple[str, str]:
    """An approved departure of ``leaver`` with one optional item; (departure id, item id)."""
    started = await api.post("/v1/departures", "hr.sun", json=departure_body(leaver=leaver))
    assert started.status == 201, started.body
    departure_id = started.json()["result"]["departure_id"]
    assert (await api.post(f"/v1/departures/{departure_id}/submit", "hr.sun")).status == 200
    approved = await api.post(f"/v1/departures/{departure_id}/approvals/0/approve", "li.qiang")
    assert approved.status == 200, approved.body
    added = await api.post(f"/v1/departures/{departure_id}/items", "hr.sun", json={
        "category": "documents", "title": "项目文档", "receiver": receiver, "mandatory": False})
    assert added.status == 201, added.body
    return departure_id, added.json()["result"]["item_id"]


def raw_multipart(disposition: bytes, content: bytes,
                  content_type: bytes | None = b"application/pdf") -> bytes:
    """A multipart body written byte for byte, as a browser or curl would send it."""
    head = b"--" + BOUNDARY.encode() + b'\r\nContent-Disposition: form-data; name="file"; '
    head += disposition + b"\r\n"
    if content_type is not None:
        head += b"Content-Type: " + content_type + b"\r\n"
    return head + b"\r\n" + content + b"\r\n--" + BOUNDARY.encode() + b"--\r\n"


async def upload(api: Api, item_id: str, who: str, content: bytes, name: str = "scan.pdf",
                 media_type: str = "application/pdf", **headers: str) -> Reply:
    form = aiohttp.FormData()
    form.add_field("file", content, filename=name, content_type=media_type)
    return await api.post(f"/v1/items/{item_id}/evidence", who, data=form, headers=headers)


async def upload_raw(api: Api, item_id: str, who: str, body: bytes) -> Reply:
    return await api.post(f"/v1/items/{item_id}/evidence", who, data=body, headers={
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})


async def events(api: Api, item_id: str) -> list[dict[str, Any]]:
    reply = await api.get(f"/v1/streams/{item_id}/events", "hr.sun")
    assert reply.status == 200, reply.body
    return [json.loads(e["entry"]) for e in reply.json()["items"]]


def generic(reply: Reply, item_id: str, sha256: str) -> bytes:
    """A 404's body with the path's own item id and digest taken out: what it tells."""
    reply.problem(404)
    return reply.body.replace(item_id.encode(), b"<item>").replace(sha256.encode(), b"<sha>")


# --- an upload is a recorded fact -----------------------------------------------------------------

async def test_an_upload_is_recorded_on_its_item_as_a_chained_event(api: Api) -> None:
    _, item_id = await case(api)
    content = "交接清单 v3\n".encode() * 100

    reply = await upload(api, item_id, "wang.lei", content, "交接清单.pdf",
                         **{"Idempotency-Key": "upload-1"})

    assert reply.status == 201, reply.body
    sha256 = hashlib.sha256(content).hexdigest()
    assert reply.json() == {"sha256": sha256, "size": len(content), "name": "交接清单.pdf",
                            "media_type": "application/pdf"}
    recorded = (await events(api, item_id))[-1]
    assert recorded["type"] == "ItemEvidenceUploaded"
    assert recorded["payload"] == {"by": "wang.lei", "sha256": sha256, "size": len(content),
                                   "name": "交接清单.pdf", "media_type": "application/pdf"}
    assert recorded["actor"]["id"] == "wang.lei"
    assert recorded["context"]["request_id"] and recorded["context"]["auth"]
    replayed = await upload(api, item_id, "wang.lei", content, "交接清单.pdf",
                            **{"Idempotency-Key": "upload-1"})
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    assert replayed.json() == reply.json()
    assert len(await events(api, item_id)) == 2  # created, uploaded: the replay appended nothing
    other = await upload(api, item_id, "wang.lei", b"another file",
                         **{"Idempotency-Key": "upload-1"})
    assert other.problem(422)["title"] == "Idempotency key reused"


async def test_hr_uploads_for_the_giver_and_nobody_else_may(api: Api) -> None:
    _, item_id = await case(api)

    assert (await upload(api, item_id, "hr.sun", b"mailed in by the leaver")).status == 201
    absent = (await upload(api, str(uuid.uuid4()), "stranger", b"x")).problem(404)
    for who in ("zhao.min", "stranger", "li.qiang", "it.qian", "legal.x", "admin"):
        refused = await upload(api, item_id, who, f"from {who}".encode())
        # May not read the item: it is absent to them (IT may upload to items its queue gives,
        # issue 9, so its refusal is the relation's, not the role's).
        if who in ("stranger", "it.qian"):
            assert refused.problem(404)["detail"].replace(item_id, "X") == absent[
                "detail"].replace(absent["detail"].split()[0], "X")
        else:
            refused.problem(403)
        digest = hashlib.sha256(f"from {who}".encode()).hexdigest()
        assert await api.runtime.blobs.size_of(digest) is None  # refused before it was stored
    assert [e["type"] for e in await events(api, item_id)] == [
        "ItemCreated", "ItemEvidenceUploaded"]


async def test_an_upload_cannot_be_claimed_without_sending_the_file(api: Api) -> None:
    """Only the upload route, having stored and hashed the file, records an upload: a bulk
    command naming any digest is refused and records nothing."""
    _, item_id = await case(api)
    claimed = {"type": "record_upload", "item_id": item_id, "sha256": "ab" * 32, "size": 3,
               "name": "never-sent.pdf", "media_type": "application/pdf"}

    reply = await api.post("/v1/commands", "wang.lei",
                           json={"commands": [{"command": claimed}]})

    assert reply.status == 200, reply.body
    assert reply.json()["results"][0]["status"] == 422
    assert [e["type"] for e in await events(api, item_id)] == ["ItemCreated"]
    refused = await api.post(f"/v1/items/{item_id}/submit", "wang.lei", json={
        "evidence": [{k: claimed[k] for k in ("sha256", "size", "name", "media_type")}]})
    assert refused.problem(422)["field"] == f"evidence.{'ab' * 32}"


# --- a submission cites only its own item's uploads -------------------------------------------

async def test_citing_another_cases_file_is_a_422_naming_its_digest(api: Api) -> None:
    _, mine = await case(api)
    _, theirs = await case(api, leaver="stranger")
    secret = b"the other case's client list"
    cited = (await upload(api, theirs, "stranger", secret, "clients.pdf")).json()

    refused = await api.post(f"/v1/items/{mine}/submit", "wang.lei",
                             json={"note": "see attached", "evidence": [cited]})

    problem = refused.problem(422)
    assert problem["field"] == f"evidence.{cited['sha256']}"
    assert cited["sha256"] in problem["detail"]
    assert [e["type"] for e in await events(api, mine)] == ["ItemCreated"]
    downloaded = await api.get(f"/v1/items/{mine}/evidence/{cited['sha256']}", "wang.lei")
    assert generic(downloaded, mine, cited["sha256"]) == generic(
        await api.get(f"/v1/items/{mine}/evidence/{'0' * 64}", "wang.lei"), mine, "0" * 64)


async def test_citing_an_uploaded_file_with_another_size_is_a_422(api: Api) -> None:
    _, item_id = await case(api)
    cited = (await upload(api, item_id, "wang.lei", b"twelve bytes")).json()

    refused = await api.post(f"/v1/items/{item_id}/submit", "wang.lei",
                             json={"evidence": [{**cited, "size": 13}]})

    assert refused.problem(422)["field"] == f"evidence.{cited['sha256']}.size"
    accepted = await api.post(f"/v1/items/{item_id}/submit", "wang.lei",
                              json={"evidence": [cited]})
    assert accepted.status == 200, accepted.body
    assert (await events(api, item_id))[-1]["payload"]["evidence"] == [cited]


# --- downloads ------------------------------------------------------------------------------------

async def test_a_download_by_anyone_who_may_not_see_the_file_reads_exactly_as_absent(
        api: Api) -> None:
    _, mine = await case(api)
    _, theirs = await case(api, leaver="stranger")
    file_a = (await upload(api, mine, "wang.lei", b"file of case A")).json()["sha256"]
    file_b = (await upload(api, theirs, "stranger", b"file of case B")).json()["sha256"]
    absent = "0" * 64

    answers = {
        "absent file, reader": (mine, absent, "zhao.min"),
        "not yours": (mine, file_a, "stranger"),
        "another item's file, its own reader": (mine, file_b, "stranger"),
        "another item's file, this item's reader": (mine, file_b, "zhao.min"),
        "no such item": (MISSING_ITEM, file_a, "wang.lei"),
        "no such item, HR": (MISSING_ITEM, absent, "hr.sun"),
        "a departure's id": ((await case(api))[0], file_a, "hr.sun"),
        "IT, unrelated": (mine, file_a, "it.qian"),
    }
    bodies = {name: generic(await api.get(f"/v1/items/{item}/evidence/{sha}", who), item, sha)
              for name, (item, sha, who) in answers.items()}

    assert len(set(bodies.values())) == 1, bodies
    for who in ("wang.lei", "zhao.min", "hr.sun", "legal.x", "audit.x"):
        allowed = await api.get(f"/v1/items/{mine}/evidence/{file_a}", who)
        assert (allowed.status, allowed.body) == (200, b"file of case A"), who


async def test_a_download_is_typed_safely_never_sniffed_named_per_rfc_6266_with_a_strong_etag(
        api: Api) -> None:
    _, item_id = await case(api)
    page = b"<html><script>alert(document.cookie)</script></html>"
    html = (await upload(api, item_id, "wang.lei", page, "客户 清单.html", "text/html")).json()
    pdf = (await upload(api, item_id, "wang.lei", b"%PDF-1.7", "minutes.pdf")).json()

    served = await api.get(f"/v1/items/{item_id}/evidence/{html['sha256']}", "zhao.min")

    assert served.status == 200 and served.body == page
    assert served.headers["Content-Type"] == "application/octet-stream"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["ETag"] == f'"{html["sha256"]}"'
    assert served.headers["Content-Length"] == str(len(page))
    assert served.headers["Content-Disposition"] == (
        'attachment; filename="__ __.html"; '
        "filename*=UTF-8''%E5%AE%A2%E6%88%B7%20%E6%B8%85%E5%8D%95.html")
    assert (await events(api, item_id))[-2]["payload"]["media_type"] == "text/html"
    as_pdf = await api.get(f"/v1/items/{item_id}/evidence/{pdf['sha256']}", "zhao.min")
    assert as_pdf.headers["Content-Type"] == "application/pdf"
    assert as_pdf.headers["Content-Disposition"] == (
        "attachment; filename=\"minutes.pdf\"; filename*=UTF-8''minutes.pdf")
    cached = await api.get(f"/v1/items/{item_id}/evidence/{pdf['sha256']}", "zhao.min",
                           headers={"If-None-Match": f'"{pdf["sha256"]}"'})
    assert (cached.status, cached.body) == (304, b"")


async def test_a_browser_style_utf8_or_rfc_5987_file_name_is_read_as_sent(api: Api) -> None:
    _, item_id = await case(api)

    raw_utf8 = await upload_raw(api, item_id, "wang.lei", raw_multipart(
        'filename="设备维护记录.pdf"'.encode(), b"scan 1"))
    extended = await upload_raw(api, item_id, "wang.lei", raw_multipart(
        b"filename*=UTF-8''%E5%90%88%E5%90%8C.pdf", b"scan 2", None))

    assert raw_utf8.json()["name"] == "设备维护记录.pdf"
    assert (extended.json()["name"], extended.json()["media_type"]) == (
        "合同.pdf", "application/octet-stream")


@pytest.mark.parametrize(("disposition", "content_type", "field"), [
    (b'filename="a\x07bell.pdf"', b"application/pdf", "file"),  # aiohttp refuses the header
    (b'filename="a%0Abreak.pdf"', b"application/pdf", "filename"),
    ('filename="invoice\u202efdp.exe"'.encode(), b"application/pdf", "filename"),
    (b'filename="../../etc/passwd"', b"application/pdf", "filename"),
    (b'filename="' + b"x" * 201 + b'.pdf"', b"application/pdf", "filename"),
    (b'filename="%FF%FE.pdf"', b"application/pdf", "filename"),
    (b'filename="ok.pdf"', b"pdf", "media_type"),
    (b'filename="ok.pdf"', b"text/html extra", "media_type"),
    (b'filename="ok.pdf"', b"application/" + b"x" * 300, "media_type"),
])
async def test_a_bad_file_name_or_media_type_is_a_422_naming_the_field_and_stores_nothing(
        api: Api, disposition: bytes, content_type: bytes, field: str) -> None:
    _, item_id = await case(api)
    content = b"refused " + disposition + content_type

    refused = await upload_raw(api, item_id, "wang.lei",
                               raw_multipart(disposition, content, content_type))

    assert refused.problem(422)["field"] == field
    assert await api.runtime.blobs.size_of(hashlib.sha256(content).hexdigest()) is None
    assert [e["type"] for e in await events(api, item_id)] == ["ItemCreated"]


# --- a final case takes no more files -------------------------------------------------------------

@pytest.mark.parametrize("ending", ["close", "withdraw"])
async def test_an_upload_to_an_item_of_a_closed_or_withdrawn_departure_is_refused(
        api: Api, ending: str) -> None:
    departure_id, item_id = await case(api)
    if ending == "close":
        await sign_confirmation_over_http(api, departure_id)
    ended = await api.post(f"/v1/departures/{departure_id}/{ending}", "hr.sun",
                           json={"reason": "moved abroad"} if ending == "withdraw" else {})
    assert ended.status == 200, ended.body

    for who in ("wang.lei", "hr.sun"):
        refused = await upload(api, item_id, who, f"late file from {who}".encode())
        assert f"departure {departure_id} is" in refused.problem(409)["detail"]
        digest = hashlib.sha256(f"late file from {who}".encode()).hexdigest()
        assert await api.runtime.blobs.size_of(digest) is None
    assert [e["type"] for e in await events(api, item_id)] == ["ItemCreated"]


# --- the blob store: one for every API process --------------------------------------------------

@contextlib.asynccontextmanager
async def second_process(first: Api, folder: Path) -> AsyncIterator[Api]:
    """Another API process on the same database (its own data folder, no shared disk)."""
    runtime = await bootstrap(Settings(database_url=first.runtime.settings.database_url,
                                          data_dir=folder, log_origin=TEST_ORIGIN,
                                          key_dir=first.runtime.settings.key_dir))
    try:
        server = TestServer(build_app(runtime), host="127.0.0.1")
        await server.start_server()
        try:
            async with aiohttp.ClientSession() as session:
                yield Api(runtime, session, str(server.make_url("")).rstrip("/"), first.tokens)
        finally:
            await server.close()
    finally:
        await runtime.close()


async def test_two_api_processes_on_one_postgresql_database_serve_the_same_files(
        pg_dsn: str, tmp_path: Path) -> None:
    async with serve(pg_dsn, tmp_path / "one") as one, \
            second_process(one, tmp_path / "two") as two:
        _, item_id = await case(one)
        content = b"uploaded through process one " * 5000
        cited = (await upload(one, item_id, "wang.lei", content)).json()

        submitted = await two.post(f"/v1/items/{item_id}/submit", "wang.lei",
                                   json={"evidence": [cited]})
        downloaded = await two.get(f"/v1/items/{item_id}/evidence/{cited['sha256']}",
                                   "zhao.min")

        assert submitted.status == 200, submitted.body
        assert (downloaded.status, downloaded.body) == (200, content)
        assert isinstance(two.runtime.blobs, PostgresBlobStore)
        assert not (tmp_path / "one" / "blobs").exists()


async def test_ledger_blob_store_chooses_the_adapter_and_refuses_what_cannot_work(
        pg_dsn: str, tmp_path: Path) -> None:
    async with serve(pg_dsn, tmp_path) as served:
        store = served.runtime.store
        assert isinstance(blob_store_for(store, None, tmp_path), PostgresBlobStore)
        assert isinstance(blob_store_for(store, "filesystem", tmp_path), FilesystemBlobStore)
        with pytest.raises(ConfigurationError, match="'s3' is not one of filesystem, postgres"):
            blob_store_for(store, "s3", tmp_path)
    settings = Settings.from_env({"LEDGER_DATA_DIR": str(tmp_path / "sq"),
                                  "LEDGER_BLOB_STORE": "postgres"})
    assert settings.blob_store == "postgres"
    with pytest.raises(ConfigurationError, match="needs a PostgreSQL database"):
        await bootstrap(settings)
    assert Settings.from_env({"LEDGER_BLOB_STORE": ""}).blob_store is None


async def test_a_download_of_a_file_changed_in_the_store_is_cut_before_its_last_chunk(
        api: Api) -> None:
    _, item_id = await case(api)
    content = bytes(range(256)) * 4000  # 1,024,000 bytes: several chunks
    sha256 = (await upload(api, item_id, "wang.lei", content)).json()["sha256"]
    await change_blob(api.runtime.blobs, api.runtime.settings.database_url, sha256)

    with pytest.raises(aiohttp.ClientPayloadError):
        await api.get(f"/v1/items/{item_id}/evidence/{sha256}", "zhao.min")



async def test_a_download_of_a_recorded_file_gone_from_the_store_says_so_to_its_reader(
        api: Api) -> None:
    _, item_id = await case(api)
    sha256 = (await upload(api, item_id, "wang.lei", b"soon gone")).json()["sha256"]
    await delete_blob(api.runtime.blobs, api.runtime.settings.database_url, sha256)

    reader = await api.get(f"/v1/items/{item_id}/evidence/{sha256}", "zhao.min")
    stranger = await api.get(f"/v1/items/{item_id}/evidence/{sha256}", "stranger")

    assert "missing from the blob store" in reader.problem(404)["detail"]
    assert generic(stranger, item_id, sha256) == generic(
        await api.get(f"/v1/items/{item_id}/evidence/{'0' * 64}", "stranger"), item_id, "0" * 64)
