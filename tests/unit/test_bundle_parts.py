"""The exporter's pure parts: a deterministic ZIP, the member order, the uploads a case cites,
the README, and who may export."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import AsyncIterator

import pytest

from ledger.aggregates.departure import Departure
from ledger.bundle import layout as L
from ledger.bundle.archive import BundleArchive
from ledger.bundle.export import member_order, note_text
from ledger.bundle.readme import readme_text
from ledger.errors import VerificationError
from ledger.service.context import Actor
from ledger.service.export_cases import may_export

AT = dt.datetime(2026, 12, 6, 5, 1, 7, 123456, tzinfo=dt.UTC)


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    for at in range(0, len(data), 3):
        yield data[at:at + 3]


async def archive_of(members: dict[str, bytes], streamed: bytes = b"attached") -> bytes:
    out = io.BytesIO()
    archive = BundleArchive(out, AT)
    for path, data in members.items():
        archive.add(path, data)
    await archive.add_stream(L.file_path(L.sha256_hex(streamed)), chunks(streamed),
                             L.sha256_hex(streamed), len(streamed))
    archive.close()
    return out.getvalue()


MEMBERS = {L.MIMETYPE: L.MEDIA_TYPE.encode(), L.MANIFEST: b"{}", "entries/a/1.json": b"{}",
           "proofs/a/1.tlog-proof": b"proof", L.REPORT_PDF: b"%PDF-1.7"}


async def test_the_same_members_make_the_same_bytes() -> None:
    first, second = await archive_of(MEMBERS), await archive_of(MEMBERS)
    assert first == second
    infos = zipfile.ZipFile(io.BytesIO(first)).infolist()
    assert [i.compress_type for i in infos] == [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED,
                                                zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED,
                                                zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]
    assert {i.date_time for i in infos} == {(2026, 12, 6, 5, 1, 6)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    assert all(i.flag_bits & 0x08 == 0 for i in infos)  # sizes in the local headers


async def test_an_attachment_that_differs_from_its_name_stops_the_export() -> None:
    out = io.BytesIO()
    archive = BundleArchive(out, AT)
    with pytest.raises(VerificationError, match="does not match its name"):
        await archive.add_stream("files/x", chunks(b"changed"), L.sha256_hex(b"original"), 7)


def test_members_follow_the_spec_order() -> None:
    files = {p: b"" for p in ["proofs/item/b/000001.tlog-proof", L.REPORT_PDF, L.KEYS,
                              "entries/item/b/000001.json", L.README, L.VERIFY_PY,
                              "entries/departure/a/000001.json", L.CHECKPOINT, L.REPORT_HTML]}
    assert member_order(files) == [
        L.README, L.CHECKPOINT, L.KEYS, L.VERIFY_PY, L.REPORT_HTML, L.REPORT_PDF,
        "entries/departure/a/000001.json", "entries/item/b/000001.json",
        "proofs/item/b/000001.tlog-proof"]


def test_a_signed_notes_text_ends_before_its_signatures() -> None:
    note = "origin\n3\nroot=\n\n\u2014 origin abc=\n".encode()
    assert note_text(note) == "origin\n3\nroot=\n"


def test_the_readme_says_how_to_verify_in_both_languages() -> None:
    final = readme_text("d-1", "2026-12-06T05:01:07.123456Z", "final").decode()
    interim = readme_text("d-1", "2026-12-06T05:01:07.123456Z", "interim").decode()
    for text in (final, interim):
        assert "python3 -I verify.py --key" in text
        assert "ledger verify-bundle bundle.zip --key" in text
        assert "如何验证" in text and "How to verify" in text
        assert "A pass does not mean" in text and "验证通过并不意味着" in text
    assert "interim bundle" in interim and "临时版" in interim
    assert "interim bundle" not in final


def _departure() -> Departure:
    return Departure(leaver={"id": "wang.lei", "name": "王磊"}, manager_id="li.qiang",
                     hr_owner_id="hr.sun", notice_date="2026-11-01",
                     last_working_day="2026-11-30", reason="resigned",
                     approval_chain=[{"name": "manager", "approver_id": "li.qiang"}])


@pytest.mark.parametrize(("actor", "allowed"), [
    (Actor("hr.zhou", "hr"), True), (Actor("legal.x", "legal"), True),
    (Actor("wang.lei", "employee"), True), (Actor("li.qiang", "employee"), False),
    (Actor("audit.x", "auditor"), False), (Actor("it.qian", "it"), False),
    (Actor("admin", "operator"), False), (Actor("hr.sun", "employee"), False)])
def test_hr_legal_and_the_leaver_export(actor: Actor, allowed: bool) -> None:
    assert may_export(actor, _departure()) is allowed


def test_an_export_is_recorded_in_any_state() -> None:
    departure = _departure()
    departure.withdraw(by="hr.sun", reason="stays")
    departure.record_export(by="legal.x", bundle_format=1, status="final",
                            checkpoint={"origin": "o", "size": 3, "root": "r"},
                            manifest_sha256="0" * 64, with_files=False)
    assert departure.state == "withdrawn"
    assert type(departure.collect_events()[-1]).__name__ == "EvidenceExported"
