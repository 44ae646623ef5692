"""Evidence bundles for tests, built by the spec (docs/bundle-format.md) from a real store.

Until the exporter (``ledger/bundle/export.py``) lands, this builds a bundle the way the spec
says one is built: the streams read from the store, one tlog-proof per entry from the log
reader after the sequencer has run, the manifest and signature through ``ledger.bundle.layout``,
signed with the test's log key. ``Parts`` keeps the members apart from the manifest so a tamper
test can change a member and, as an attacker holding the log key would, seal the bundle again.
"""

from __future__ import annotations

import base64
import io
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from pypdf import PdfWriter

import ledger.bundle.verify as verify_module
from ledger.bundle import layout
from ledger.canonical import JSONObject
from ledger.entry import decode_entry
from ledger.store.factory import log_store_for
from ledger.store.port import EventStore
from ledger.tlog.checkpoint import parse_checkpoint
from ledger.tlog.note import Signer, open_note, sign_note
from ledger.transparency.reader import LogReader

GENERATED_AT = "2026-12-01T08:00:00.000000Z"
ZIP_TIME = (2026, 12, 1, 8, 0, 0)


@dataclass
class Parts:
    """A bundle before sealing: every member but ``mimetype``, the manifest and the signature."""

    departure_id: str
    status: str
    checkpoint: bytes
    streams: list[layout.StreamHead]
    files: dict[str, bytes] = field(default_factory=dict)
    with_files: bool = False
    generated_at: str = GENERATED_AT
    time_zone: str = "Asia/Shanghai"

    def header(self) -> layout.ManifestHeader:
        opened = parse_checkpoint(self.checkpoint[: self.checkpoint.rfind(b"\n\n") + 1].decode())
        ref = layout.CheckpointRef(opened.origin, opened.size,
                                   base64.b64encode(opened.root_hash).decode())
        return layout.ManifestHeader(
            self.departure_id, self.generated_at, self.status, self.time_zone, ref,
            self.streams, self.with_files, layout.report_source_sha256(self.files))


def report_html(source_sha256: str, departure_id: str) -> bytes:
    """A stand-in ``report.html`` carrying the report source digest, as the spec requires."""
    return (f'<!doctype html><html><head><meta charset="utf-8"><meta name="'
            f'{layout.REPORT_SOURCE_META}" content="{source_sha256}"><title>{departure_id}'
            f"</title></head><body><p>{source_sha256}</p></body></html>\n").encode()


def report_pdf(content_manifest: bytes) -> bytes:
    """A one-page PDF carrying the content manifest as its attached ``manifest.json``."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_attachment(layout.CONTENT_MANIFEST_NAME, content_manifest)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def seal(parts: Parts, signers: Sequence[Signer], *, report: bool = True) -> dict[str, bytes]:
    """Every member in ZIP order: the report (unless ``report`` is False: keep the parts'),
    the manifest over the members and the signature note over the manifest."""
    files = dict(parts.files)
    header = parts.header()
    if report:
        files[layout.REPORT_HTML] = report_html(header.report_source_sha256, parts.departure_id)
        content = layout.manifest_bytes(header, [layout.Member.of(p, d) for p, d in files.items()
                                                 if p != layout.REPORT_PDF])
        files[layout.REPORT_PDF] = report_pdf(content)
    manifest = layout.manifest_bytes(header, [layout.Member.of(p, d) for p, d in files.items()])
    signature = sign_note(layout.signature_text(parts.departure_id, manifest), signers)
    order = [layout.README, layout.CHECKPOINT, layout.KEYS, layout.VERIFY_PY,
             layout.REPORT_HTML, layout.REPORT_PDF]
    rest = sorted((p for p in files if p not in order), key=lambda p: p.encode())
    members = {layout.MIMETYPE: layout.MEDIA_TYPE.encode(), layout.MANIFEST: manifest,
               layout.SIGNATURE: signature}
    members |= {p: files[p] for p in [*order, *rest] if p in files}
    return members


def zip_bytes(members: Mapping[str, bytes]) -> bytes:
    """The ZIP of ``members`` in order: ``mimetype`` stored, the rest deflated, one time."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for path, data in members.items():
            info = zipfile.ZipInfo(path, ZIP_TIME)
            info.compress_type = (zipfile.ZIP_STORED if path == layout.MIMETYPE
                                  else zipfile.ZIP_DEFLATED)
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return out.getvalue()


def unzip_to(members: Mapping[str, bytes], folder: Path) -> Path:
    """Write ``members`` into ``folder`` as an auditor's unzip would."""
    for path, data in members.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return folder


def verify_source() -> bytes:
    """The bytes of ``ledger/bundle/verify.py``, as the exporter copies it into a bundle."""
    return Path(verify_module.__file__).read_bytes()


async def _stream(store: EventStore, stream_id: str, size: int) -> list[tuple[int, bytes]]:
    # Every version up to the last one the checkpoint covers (the log holds event hashes).
    log = log_store_for(store)
    rows = await store.read_stream(uuid.UUID(stream_id))
    kept = []
    for row in rows:
        index = await log.find_index(row.event_hash)
        if index is None or index >= size:
            break
        kept.append((row.version, row.entry))
    return kept


async def collect(store: EventStore, departure_id: str, signers: Sequence[Signer],
                  *, files: Mapping[str, bytes] | None = None) -> Parts:
    """The parts of the bundle of ``departure_id``: its streams, each entry's proof against
    the latest checkpoint, ``keys``, ``verify.py``, ``README.txt`` and any ``files``."""
    reader = LogReader(log_store_for(store))
    checkpoint = await reader.latest()
    departure = await _stream(store, departure_id, checkpoint.size)
    wanted: list[tuple[str, str, int | None]] = [("departure", departure_id, None)]
    final = False
    for _, raw in departure:
        e = decode_entry(raw)
        if e.event_type == "DepartureTemplateApplied":
            template: JSONObject = e.payload["template"]  # type: ignore[assignment]
            wanted.append(("template", str(template["id"]), int(str(template["revision"]))))
            wanted += [("item", str(i), None) for i in e.payload["item_ids"]]  # type: ignore[union-attr]
        elif e.event_type == "DepartureItemAdded":
            wanted.append(("item", str(e.payload["item_id"]), None))
        elif e.event_type == "DepartureLegalHoldPlaced":
            wanted.append(("dispute", str(e.payload["dispute_id"]), None))
        final = final or e.event_type in ("DepartureClosed", "DepartureWithdrawn")
    all_logged = len(departure) == len(await store.read_stream(uuid.UUID(departure_id)))
    parts = Parts(departure_id, "final" if final and all_logged else "interim",
                  checkpoint.note, [], with_files=files is not None)
    for kind, sid, last in dict.fromkeys(wanted):
        versions = await _stream(store, sid, checkpoint.size)
        if last is not None:
            versions = versions[:last]
        for version, raw in versions:
            parts.files[layout.entry_path(kind, sid, version)] = raw
            parts.files[layout.proof_path(kind, sid, version)] = await reader.tlog_proof(
                decode_entry(raw).event_hash)
        if versions:
            parts.streams.append(layout.StreamHead(
                kind, sid, len(versions), layout.sha256_hex(versions[-1][1])))
    parts.files[layout.CHECKPOINT] = checkpoint.note
    parts.files[layout.KEYS] = "".join(s.verifier.vkey + "\n" for s in signers).encode()
    parts.files[layout.VERIFY_PY] = verify_source()
    parts.files[layout.README] = ("证据包 / Evidence bundle. Verify: python3 -I verify.py "
                                  "--key <key>\n").encode()
    for data in (files or {}).values():
        parts.files[layout.file_path(layout.sha256_hex(data))] = data
    open_note(checkpoint.note, [s.verifier for s in signers])  # the test's key signed it
    return parts


def with_changes(parts: Parts, **changes: object) -> Parts:
    """A copy of ``parts`` with ``changes`` (and its own copy of the files)."""
    return replace(parts, files=dict(parts.files), streams=list(parts.streams),
                   **changes)  # type: ignore[arg-type]
