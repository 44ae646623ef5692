"""Tampering with an evidence bundle is detected by both verifiers with the same message: the
bundle's own ``verify.py`` (standard library) and ``ledger verify-bundle``'s checks (the
ledger's code). Both cases are exported once by the real exporter (a closed case with its
files, an open one); each tamper changes a copy of the exported members, as it would reach an
auditor: changed after export (the manifest then no longer matches), and, where it says more,
resealed, as by someone holding the log key who rewrites the manifest, the report and the
signature, so that the deeper checks must find it."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from ledger.bundle import layout, verifier, verify
from ledger.canonical import encode_canonical
from ledger.entry import decode_entry, encode_entry
from ledger.tlog.note import sign_note
from tests.support.bundle_cases import Cases, Exported, build_cases
from tests.support.bundles import (
    Parts,
    attached_pdf,
    open_members,
    renderer_refuses,
    seal,
    with_changes,
    zip_bytes,
)

Members = dict[str, bytes]


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Cases:
    """Both cases, each exported once by the real exporter (SQLite: what a verifier reads is
    the bundle's bytes, whichever store they came from; test_bundle_replay.py exports from
    both)."""
    folder = tmp_path_factory.mktemp("bundles")
    return asyncio.run(build_cases(f"sqlite:///{folder / 'ledger.db'}", folder))


def _failures(tmp_path: Path, data: bytes, vkey: str) -> tuple[list[str], list[str]]:
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    return (verify.inspect_bundle(path, vkey).failures,
            verifier.verify_bundle(path, vkey).failures)


def _entries(parts: Parts, kind: str = "departure") -> list[str]:
    return sorted(p for p in parts.files if p.startswith(f"entries/{kind}/"))


def _proof(entry: str) -> str:
    return "proofs/" + entry.removeprefix("entries/").removesuffix(".json") + ".tlog-proof"


def _flip(data: bytes, at: int | None = None) -> bytes:
    at = len(data) // 2 if at is None else at
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def _flip_b64(text: bytes, start: int) -> bytes:
    # Change one base64 character (not padding): the bytes stay valid base64.
    c = text[start : start + 1]
    return text[:start] + (b"B" if c == b"A" else b"A") + text[start + 1 :]


def _stream_of(path: str) -> str:
    return path.rsplit("/", 1)[0]


def _exported(cases: Cases, kind: str) -> Exported:
    return cases.final if kind == "final" else cases.interim


def _members(exported: Exported) -> Members:
    """The exported ZIP's members (a fresh copy to change)."""
    return open_members(exported.data)


def _resealed_keeping_report(cases: Cases, parts: Parts, change: Callable[[Parts], None]
                             ) -> Members:
    copy = with_changes(parts)
    change(copy)
    return seal(copy, cases.signers, report=False)


def _resealed(cases: Cases, parts: Parts, change: Callable[[Parts], None]) -> Members:
    copy = with_changes(parts)
    change(copy)
    return seal(copy, cases.signers)


def _parts(cases: Cases, kind: str) -> Parts:
    return _exported(cases, kind).parts


RERENDER = "report.html: not produced from these entries"


def _assert_same(tmp_path: Path, cases: Cases, members: Members, *expected: str) -> list[str]:
    """Both verifiers find the same problems, ``expected`` among them; the ledger, rendering
    the report again, also finds that it cannot be made from entries the renderer refuses
    (then the resealer could not render it either)."""
    path = tmp_path / "bundle.zip"
    path.write_bytes(zip_bytes(members))
    verdict = verify.inspect_bundle(path, cases.vkey)
    ours, ledgers = verdict.failures, verifier.verify_bundle(path, cases.vkey).failures
    reached = any(c.text.startswith(f"{layout.REPORT_HTML}:") for c in verdict.checks)
    assert ledgers == ([*ours, RERENDER] if reached and renderer_refuses(members) else ours)
    for message in expected:
        assert message in ours, (message, ours)
    return ours


@pytest.mark.parametrize("kind", ["final", "interim"])
def test_an_honest_bundle_passes_both_verifiers(tmp_path: Path, cases: Cases, kind: str) -> None:
    assert _failures(tmp_path, _exported(cases, kind).data, cases.vkey) == (
        [], [])


@pytest.mark.parametrize("kind", ["final", "interim"])
def test_a_flipped_entry_byte_is_found(tmp_path: Path, cases: Cases, kind: str) -> None:
    parts = _parts(cases, kind)
    first, second = _entries(parts)[:2]
    members = _members(_exported(cases, kind))
    members[first] = _flip(members[first])
    assert _assert_same(tmp_path, cases, members, f"{first}: SHA-256 differs from the manifest"
                        ) == [f"{first}: SHA-256 differs from the manifest"]

    def change(p: Parts) -> None:
        p.files[first] = p.files[first].replace(b'"hr.t"', b'"hr.u"', 1)

    _assert_same(tmp_path, cases, _resealed(cases, parts, change),
                 f"{_proof(first)}: inclusion proof does not verify",
                 f"{second}: prev is not the hash of the previous version")


def test_a_non_canonical_entry_is_named_with_the_same_detail(tmp_path: Path,
                                                            cases: Cases) -> None:
    entry = _entries(cases.final.parts)[0]

    def change(p: Parts) -> None:
        p.files[entry] = p.files[entry].replace(b",", b", ", 1)

    _assert_same(tmp_path, cases, _resealed(cases, cases.final.parts, change),
                 f"{entry}: not a canonical entry (entry bytes are not in RFC 8785 canonical "
                 "form)")


@pytest.mark.parametrize("kind", ["final", "interim"])
def test_a_changed_proof_hash_does_not_verify(tmp_path: Path, cases: Cases, kind: str) -> None:
    entry = _entries(_parts(cases, kind))[0]
    proof = _proof(entry)
    members = _members(_exported(cases, kind))
    members[proof] = _flip(members[proof], 40)
    _assert_same(tmp_path, cases, members, f"{proof}: SHA-256 differs from the manifest")

    def change(p: Parts) -> None:
        lines = p.files[proof].split(b"\n")
        lines[2] = _flip_b64(lines[2], 0)  # the first hash of the path (header, index, hashes)
        p.files[proof] = b"\n".join(lines)

    assert _assert_same(tmp_path, cases, _resealed(cases, _parts(cases, kind), change)) == [
        f"{proof}: inclusion proof does not verify"]


@pytest.mark.parametrize("kind", ["final", "interim"])
def test_a_changed_checkpoint_or_its_signature_is_refused(tmp_path: Path, cases: Cases,
                                                          kind: str) -> None:
    members = _members(_exported(cases, kind))
    members["checkpoint"] = _flip(members["checkpoint"], 3)
    _assert_same(tmp_path, cases, members, "checkpoint: SHA-256 differs from the manifest")
    for at in (0, -10):  # the root in the text; a character of the signature
        def change(p: Parts, at: int = at) -> None:
            note = p.files["checkpoint"]
            start = note.index(b"\n", note.index(b"\n") + 1) + 1 if at == 0 else len(note) + at
            p.files["checkpoint"] = _flip_b64(note, start)

        assert _assert_same(tmp_path, cases, _resealed(cases, _parts(cases, kind), change)) == [
            "checkpoint: not signed by the given key"]


@pytest.mark.parametrize("kind", ["final", "interim"])
def test_a_changed_bundle_signature_is_refused(tmp_path: Path, cases: Cases, kind: str) -> None:
    members = _members(_exported(cases, kind))
    members[layout.SIGNATURE] = _flip_b64(members[layout.SIGNATURE],
                                          len(members[layout.SIGNATURE]) - 10)
    assert _assert_same(tmp_path, cases, members) == [
        "META-INF/signature: not signed by the given key"]
    other = _members(_exported(cases, "interim" if kind == "final" else "final"))
    members = _members(_exported(cases, kind))
    members[layout.SIGNATURE] = other[layout.SIGNATURE]  # validly signed, for another bundle
    assert _assert_same(tmp_path, cases, members) == [
        "META-INF/signature: does not name this departure and manifest"]


@pytest.mark.parametrize("kind", ["final", "interim"])
def test_a_changed_manifest_digest_is_found(tmp_path: Path, cases: Cases, kind: str) -> None:
    members = _members(_exported(cases, kind))
    doc = json.loads(members[layout.MANIFEST])
    doc["files"][0]["sha256"] = "0" * 64
    members[layout.MANIFEST] = encode_canonical(doc)
    assert _assert_same(tmp_path, cases, members) == [
        f"{doc['files'][0]['path']}: SHA-256 differs from the manifest"]
    signed = dict(members)  # the same, with the manifest's signature made again
    signed[layout.SIGNATURE] = sign_note(layout.signature_text(
        _parts(cases, kind).departure_id, members[layout.MANIFEST]), cases.signers)
    assert _assert_same(tmp_path, cases, signed)[0].endswith(": SHA-256 differs from the manifest")


def test_a_changed_attachment_is_found(tmp_path: Path, cases: Cases) -> None:
    name = next(p for p in cases.final.parts.files if p.startswith("files/"))
    members = _members(cases.final)
    members[name] = _flip(members[name])
    assert _assert_same(tmp_path, cases, members) == [
        f"{name}: SHA-256 differs from the manifest"]

    def change(p: Parts) -> None:
        p.files[name] = _flip(p.files[name])

    assert _assert_same(tmp_path, cases, _resealed(cases, cases.final.parts, change)) == [
        f"{name}: SHA-256 differs from its name"]

    def uncited(p: Parts) -> None:
        data = b"not cited by any entry"
        p.files[layout.file_path(layout.sha256_hex(data))] = data

    assert _assert_same(tmp_path, cases, _resealed(cases, cases.final.parts, uncited)) == [
        f"files/{layout.sha256_hex(b'not cited by any entry')}: no entry cites it"]


@pytest.mark.parametrize("kind", ["final", "interim"])
@pytest.mark.parametrize("name", [layout.REPORT_HTML, layout.REPORT_PDF])
def test_a_changed_report_is_found(tmp_path: Path, cases: Cases, kind: str, name: str) -> None:
    members = _members(_exported(cases, kind))
    members[name] = _flip(members[name])
    assert _assert_same(tmp_path, cases, members) == [f"{name}: SHA-256 differs from the manifest"]


def test_a_report_of_other_entries_is_found(tmp_path: Path, cases: Cases) -> None:
    meta = f'name="{layout.REPORT_SOURCE_META}" content="'.encode()

    def html(p: Parts) -> None:
        old = p.files[layout.REPORT_HTML]
        at = old.index(meta) + len(meta)
        p.files[layout.REPORT_HTML] = old[:at] + b"0" * 64 + old[at + 64:]

    ours, ledgers = _failures(tmp_path, zip_bytes(
        _resealed_keeping_report(cases, cases.final.parts, html)), cases.vkey)
    assert ours == ["report.html: not produced from these entries"]
    # The ledger renders it again, and finds that the PDF holds the manifest listing the
    # report's old digest.
    assert ledgers == [*ours, *ours, "report.pdf: not produced from this manifest"]


def test_a_report_saying_otherwise_is_found_by_the_ledger_only(tmp_path: Path,
                                                               cases: Cases) -> None:
    def html(p: Parts) -> None:  # the digest kept, a name in the text changed
        p.files[layout.REPORT_HTML] = p.files[layout.REPORT_HTML].replace(
            "王磊".encode(), "王雷".encode())

    def both(p: Parts) -> None:
        html(p)
        content = layout.manifest_bytes(p.header(), [
            layout.Member.of(x, d) for x, d in p.files.items() if x != layout.REPORT_PDF])
        p.files[layout.REPORT_PDF] = attached_pdf(content)

    assert "王磊".encode() in cases.final.parts.files[layout.REPORT_HTML]
    ours, ledgers = _failures(tmp_path, zip_bytes(
        _resealed_keeping_report(cases, cases.final.parts, both)), cases.vkey)
    assert ours == []  # verify.py checks the digest the report carries, not its text (its note)
    assert ledgers == ["report.html: not produced from these entries"]


def test_a_pdf_without_this_manifest_is_found_by_the_ledger_only(tmp_path: Path,
                                                                  cases: Cases) -> None:
    def pdf(p: Parts) -> None:
        p.files[layout.REPORT_PDF] = attached_pdf(b"{}")

    ours, ledgers = _failures(tmp_path, zip_bytes(
        _resealed_keeping_report(cases, cases.final.parts, pdf)), cases.vkey)
    assert ours == []  # verify.py says it does not check the PDF (its note)
    assert ledgers == ["report.pdf: not produced from this manifest"]


@pytest.mark.parametrize("kind", ["final", "interim"])
@pytest.mark.parametrize("which", ["first", "middle", "last"])
def test_a_dropped_event_is_found(tmp_path: Path, cases: Cases, kind: str, which: str) -> None:
    parts = _parts(cases, kind)
    entries = _entries(parts)
    n = {"first": 1, "middle": len(entries) // 2 + 1, "last": len(entries)}[which]
    dropped = entries[n - 1]
    members = _members(_exported(cases, kind))
    del members[dropped], members[_proof(dropped)]
    assert _assert_same(tmp_path, cases, members) == [
        f"{dropped}: missing", f"{_proof(dropped)}: missing"]

    def change(p: Parts) -> None:
        del p.files[dropped], p.files[_proof(dropped)]

    found = _assert_same(tmp_path, cases, _resealed(cases, parts, change),
                         f"{_stream_of(dropped)}: version {n} is missing")
    if kind == "final" and which == "last":  # the close itself
        assert "META-INF/manifest.json: final, but the departure is handing_over" in found


@pytest.mark.parametrize("kind", ["final", "interim"])
def test_a_forged_event_is_found(tmp_path: Path, cases: Cases, kind: str) -> None:
    parts = _parts(cases, kind)
    last = _entries(parts)[-1]
    entry = decode_entry(parts.files[last])
    raw, _ = encode_entry(
        event_id=uuid.uuid4(), stream_type="departure", stream_id=entry.stream_id,
        version=entry.version + 1, event_type="DepartureReminderSent",
        recorded_at=dt.datetime.now(dt.UTC), actor={"id": "hr.t", "role": "hr"}, context={},
        payload={"by": "hr.t", "to": "wang.lei", "item_ids": [], "channel": "email",
                 "escalation": False, "message": "forged"}, prev=entry.event_hash)
    forged = layout.entry_path("departure", str(entry.stream_id), entry.version + 1)

    def change(p: Parts) -> None:
        p.files[forged] = raw
        p.files[_proof(forged)] = p.files[_proof(last)]

    expected = [f"{_stream_of(last)}: head differs from the manifest",
                f"{_proof(forged)}: inclusion proof does not verify"]
    if kind == "final":
        expected.append(f"{forged}: DepartureReminderSent cannot follow the state closed")
    assert _assert_same(tmp_path, cases, _resealed(cases, parts, change)) == expected


@pytest.mark.parametrize("kind", ["final", "interim"])
def test_another_departures_item_swapped_in_is_found(tmp_path: Path, cases: Cases,
                                                     kind: str) -> None:
    parts, other = _parts(cases, kind), _parts(cases, "interim" if kind == "final" else "final")
    ours = _entries(parts, "item")[0].split("/")[2]
    theirs = _entries(other, "item")[0].split("/")[2]

    def change(p: Parts) -> None:
        for path in [x for x in p.files if f"/item/{ours}/" in x]:
            del p.files[path]
        p.files |= {x: d for x, d in other.files.items() if f"/item/{theirs}/" in x}
        p.streams = [s for s in p.streams if s.id != ours] + [
            s for s in other.streams if s.id == theirs]

    _assert_same(tmp_path, cases, _resealed(cases, parts, change),
                 f"entries/item/{ours}: item of the departure is missing",
                 f"entries/item/{theirs}: belongs to another departure")


@pytest.mark.parametrize("kind", ["final", "interim"])
def test_reordered_events_are_found(tmp_path: Path, cases: Cases, kind: str) -> None:
    parts = _parts(cases, kind)
    second, third = _entries(parts)[1:3]

    def change(p: Parts) -> None:
        p.files[second], p.files[third] = p.files[third], p.files[second]

    assert _assert_same(tmp_path, cases, _resealed(cases, parts, change))[:2] == [
        f"{second}: stream or version differs from its path",
        f"{third}: stream or version differs from its path"]


def test_an_undone_item_event_makes_the_close_counts_differ(tmp_path: Path,
                                                           cases: Cases) -> None:
    close = _entries(cases.final.parts)[-1]
    waived = next(p for p in _entries(cases.final.parts, "item")
                  if decode_entry(cases.final.parts.files[p]).event_type == "ItemWaived")
    stream = _stream_of(waived).split("/")[2]

    def change(p: Parts) -> None:
        del p.files[waived], p.files[_proof(waived)]
        previous = layout.entry_path("item", stream, int(waived[-11:-5]) - 1)
        p.streams = [layout.StreamHead("item", stream, s.versions - 1,
                                       layout.sha256_hex(p.files[previous]))
                     if s.id == stream else s for s in p.streams]

    assert _assert_same(tmp_path, cases, _resealed(cases, cases.final.parts, change)) == [
        f"{close}: close counts differ from the items (the close says items 2, confirmed 1, "
        "waived 1; the items replay to 2, 1, 0)"]


def test_a_final_bundle_of_an_open_case_is_refused(tmp_path: Path, cases: Cases) -> None:
    parts = with_changes(cases.interim.parts, status="final")
    assert _assert_same(tmp_path, cases, seal(parts, cases.signers)) == [
        "META-INF/manifest.json: final, but the departure is handing_over"]


def test_an_unknown_bundle_format_is_refused(tmp_path: Path, cases: Cases) -> None:
    members = _members(cases.final)
    doc = json.loads(members[layout.MANIFEST])
    doc["bundle_format"] = 2
    members[layout.MANIFEST] = encode_canonical(doc)
    assert _assert_same(tmp_path, cases, members) == [
        "META-INF/manifest.json: bundle_format 2 is not supported (this verifier knows 1)"]
    members[layout.MANIFEST] = encode_canonical(doc) + b" "
    assert _assert_same(tmp_path, cases, members) == [
        "META-INF/manifest.json: not canonical JSON"]


def _zip_with(members: Members, extra: list[tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for path, data in members.items():
            archive.writestr(zipfile.ZipInfo(path, (2026, 12, 1, 8, 0, 0)), data)
        for info, data in extra:
            archive.writestr(info, data)
    return out.getvalue()


def _link(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = 0o120777 << 16
    return info


@pytest.mark.parametrize(("extra", "message"), [
    ("../x", "../x: unsafe path"),
    ("/etc/x", "/etc/x: unsafe path"),
    ("a\\b", "a\\b: unsafe path"),
    ("files/../../x", "files/../../x: unsafe path"),
    ("README.txt", "README.txt: duplicate name"),
    ("link", "link: is a link"),
    ("dir/", "dir/: is a directory entry"),
])
@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_unsafe_zip_members_are_refused(tmp_path: Path, cases: Cases, extra: str,
                                        message: str) -> None:
    info = _link(extra) if extra == "link" else zipfile.ZipInfo(extra)
    data = _zip_with(_members(cases.final), [(info, b"../../etc/passwd")])
    assert _failures(tmp_path, data, cases.vkey) == ([message], [message])


def test_a_zip_without_mimetype_first_or_not_a_zip_is_refused(tmp_path: Path,
                                                              cases: Cases) -> None:
    members = _members(cases.final)
    reordered = {p: d for p, d in members.items() if p != "mimetype"} | {
        "mimetype": members["mimetype"]}
    assert _failures(tmp_path, zip_bytes(reordered), cases.vkey) == (
        [verify.MIMETYPE_MESSAGE], [verify.MIMETYPE_MESSAGE])
    assert _failures(tmp_path, b"PK\x03\x04 not really", cases.vkey) == (
        ["bundle: not a ZIP archive"], ["bundle: not a ZIP archive"])


def test_a_symlink_in_an_unzipped_folder_is_refused(tmp_path: Path, cases: Cases) -> None:
    folder = tmp_path / "unzipped"
    for path, data in _members(cases.final).items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    (folder / "keys2").symlink_to("/etc/passwd")
    ours = verify.inspect_bundle(folder, cases.vkey).failures
    assert ours == verifier.verify_bundle(folder, cases.vkey).failures == ["keys2: is a link"]


def test_a_key_that_did_not_sign_is_refused(tmp_path: Path, cases: Cases) -> None:
    from ledger.tlog.note import generate_key

    _, other = generate_key("ledger.test/log")
    path = tmp_path / "b.zip"
    path.write_bytes(zip_bytes(_members(cases.final)))
    assert verify.inspect_bundle(path, other).failures == verifier.verify_bundle(
        path, other).failures == ["META-INF/signature: not signed by the given key"]


def test_a_damaged_member_is_named(tmp_path: Path, cases: Cases) -> None:
    """A byte changed inside a member's stored data fails the ZIP's CRC: the member is named
    (not "not a ZIP archive")."""
    data = zip_bytes(_members(cases.final))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = next(i for i in archive.infolist()
                    if i.filename.startswith("proofs/") and i.compress_type == zipfile.ZIP_STORED)
    # the local header: 30 bytes, the name, the extra field; then the stored bytes
    header = data[info.header_offset:info.header_offset + 30]
    start = (info.header_offset + 30 + int.from_bytes(header[26:28], "little")
             + int.from_bytes(header[28:30], "little"))
    damaged = f"{info.filename}: damaged (its bytes fail the ZIP's checks)"
    assert _failures(tmp_path, _flip(data, start + 5), cases.vkey) == ([damaged], [damaged])


def test_a_file_managers_own_files_in_a_folder_are_noted_not_failed(tmp_path: Path,
                                                                    cases: Cases) -> None:
    folder = tmp_path / "unzipped"
    for path, data in {**_members(cases.final), ".DS_Store": b"\0\0\0\1Bud1",
                       "__MACOSX/._report.pdf": b"\0"}.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    for checks in (verify.verify_bundle(folder, cases.vkey),
                   verifier.verify_bundle(folder, cases.vkey).checks):
        assert not [c for c in checks if c.status == "FAIL"]
        notes = [c.text for c in checks if c.status == "note" and "file manager" in c.text]
        assert notes == [".DS_Store: a file manager's own file, not checked",
                         "__MACOSX: a file manager's own file, not checked"]


def test_verify_py_takes_the_key_from_a_file(tmp_path: Path, cases: Cases,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "b.zip"
    bundle.write_bytes(cases.final.data)
    key = tmp_path / "ledger.vkey"
    key.write_text(cases.vkey + "\n")
    assert verify.main(["--key", str(key), str(bundle)]) == 0
    assert verify.main(["--key", str(tmp_path / "missing.vkey"), str(bundle)]) == 2
    assert "not a verifier key string, and not a readable file" in capsys.readouterr().err


def _hidden_local_record(data: bytes) -> bytes:
    """``data`` with a second local record of report.html (forged text) between two members,
    listed nowhere in the central directory: a streaming unzip would extract it."""
    forged = io.BytesIO()
    with zipfile.ZipFile(forged, "w") as z:
        z.writestr("report.html", b"<p>FORGED: everything confirmed</p>")
    record = forged.getvalue()[:forged.getvalue().index(b"PK\x01\x02")]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        second = sorted(archive.infolist(), key=lambda i: i.header_offset)[1].header_offset
        start, count = archive.start_dir, len(archive.infolist())  # type: ignore[attr-defined]
    # keep every offset right: shift the central directory's offsets past the insertion
    central = bytearray(data[start:])
    at = 0
    for _ in range(count):
        assert central[at:at + 4] == b"PK\x01\x02"
        offset = int.from_bytes(central[at + 42:at + 46], "little")
        if offset >= second:
            central[at + 42:at + 46] = (offset + len(record)).to_bytes(4, "little")
        at += 46 + sum(int.from_bytes(central[at + k:at + k + 2], "little") for k in (28, 30, 32))
    end = central[at:]
    end[16:20] = (start + len(record)).to_bytes(4, "little")
    return data[:second] + record + data[second:start] + bytes(central[:at]) + bytes(end)


@pytest.mark.parametrize("change", ["prefix", "suffix", "hidden"])
def test_bytes_outside_the_members_are_refused(tmp_path: Path, cases: Cases,
                                               change: str) -> None:
    """A polyglot (a PDF before the ZIP), junk after it, or a local record the central
    directory does not list: each passes a plain unzip, and each is refused."""
    data = zip_bytes(_members(cases.final))
    assert _failures(tmp_path, data, cases.vkey) == ([], [])
    changed = {"prefix": b"%PDF-1.7\n" + b"x" * 100 + data, "suffix": data + b"junk",
               "hidden": _hidden_local_record(data) if change == "hidden" else b""}[change]
    with zipfile.ZipFile(io.BytesIO(changed)) as archive:  # a plain unzip accepts it
        assert archive.testzip() is None
    problem = "bundle: holds bytes outside its members"
    assert _failures(tmp_path, changed, cases.vkey) == ([problem], [problem])
