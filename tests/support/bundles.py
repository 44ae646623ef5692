"""Evidence bundles for the verifier tests: opened from the real exporter's ZIP, and resealed.

A bundle is exported once (``ledger.bundle.export.BundleExporter``) and opened into ``Parts``:
its members apart from ``mimetype``, the manifest and the signature, and the manifest's header.
A tamper test changes a copy of the members and zips them again (the manifest then no longer
matches), or reseals them: what the exporter cannot produce, and what someone holding the log
key could: the manifest written again over the changed members and signed, ``report.html``
rendered again by the real renderer, and a ``report.pdf`` carrying the new content manifest.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from eventsourcing.domain import EventSourcingError
from pypdf import PdfWriter

from ledger.bundle import layout
from ledger.bundle.archive import BundleArchive
from ledger.bundle.export import member_order
from ledger.bundle.report import render_report_html
from ledger.bundle.report_cosign import cosignature_lines
from ledger.bundle.source import ReportSource
from ledger.errors import VerificationError
from ledger.tlog.note import Signer, sign_note

ZIP_TIME = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
SEALS = (layout.MIMETYPE, layout.MANIFEST, layout.SIGNATURE)


@dataclass
class Parts:
    """An exported bundle before sealing: every member but ``mimetype``, the manifest and the
    signature, and what the manifest says besides its file list."""

    departure_id: str
    status: str
    checkpoint: layout.CheckpointRef
    streams: list[layout.StreamHead]
    files: dict[str, bytes] = field(default_factory=dict)
    with_files: bool = False
    generated_at: str = ""
    time_zone: str = ""
    report_renderer: dict[str, str] | None = None
    timestamps: list[layout.TimestampRef] = field(default_factory=list)

    def header(self) -> layout.ManifestHeader:
        return layout.ManifestHeader(
            self.departure_id, self.generated_at, self.status, self.time_zone, self.checkpoint,
            self.streams, self.with_files, layout.report_source_sha256(self.files),
            self.report_renderer, self.timestamps)


def open_members(data: bytes) -> dict[str, bytes]:
    """Every member of a ZIP, in its order."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {n: archive.read(n) for n in archive.namelist()}


def parts_of(data: bytes) -> Parts:
    """The parts of an exported bundle's ZIP."""
    members = open_members(data)
    doc: dict[str, Any] = json.loads(members[layout.MANIFEST])
    c = doc["checkpoint"]
    return Parts(
        departure_id=doc["departure_id"], status=doc["status"],
        checkpoint=layout.CheckpointRef(c["origin"], c["size"], c["root"]),
        streams=[layout.StreamHead(s["type"], s["id"], s["versions"], s["head"])
                 for s in doc["streams"]],
        files={p: d for p, d in members.items() if p not in SEALS},
        with_files=doc["with_files"], generated_at=doc["generated_at"],
        time_zone=doc["time_zone"], report_renderer=doc.get("report_renderer"),
        timestamps=[layout.TimestampRef(t["token"], t["chain"], t["tsa_url"], t["gen_time"])
                    for t in doc.get("timestamps", [])])


def with_changes(parts: Parts, **changes: object) -> Parts:
    """A copy of ``parts`` with ``changes`` (and its own copy of the files)."""
    return replace(parts, files=dict(parts.files), streams=list(parts.streams),
                   **{"timestamps": list(parts.timestamps), **changes})  # type: ignore[arg-type]


def attached_pdf(content_manifest: bytes) -> bytes:
    """A one-page PDF carrying ``content_manifest`` as its attached ``manifest.json``: the
    resealer's report.pdf (printing the real one again takes seconds and proves nothing more:
    the ledger checks the PDF's attachment)."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_attachment(layout.CONTENT_MANIFEST_NAME, content_manifest)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


REFUSED = (VerificationError, ValueError, EventSourcingError)
"""What the renderer raises for entries it cannot make a report of."""


def report_source(files: Mapping[str, bytes], manifest: Mapping[str, Any],
                  source_sha256: str | None = None) -> ReportSource:
    """What ``report.html`` is rendered from: the entries, the checkpoint and the keys among
    ``files``, the rest as the manifest says."""
    return ReportSource(
        departure_id=manifest["departure_id"], generated_at=manifest["generated_at"],
        status=manifest["status"], time_zone=manifest["time_zone"],
        checkpoint=files[layout.CHECKPOINT],
        keys=files.get(layout.KEYS, b"").decode().splitlines(),
        entries={p: d for p, d in files.items() if p.startswith("entries/")},
        report_source_sha256=source_sha256 or manifest["report_source_sha256"],
        timestamps=tuple((t["gen_time"], t["tsa_url"]) for t in manifest.get("timestamps", [])),
        cosignatures=cosignature_lines(files.get(layout.COSIGNATURES, b"")))


def renderer_refuses(members: Mapping[str, bytes]) -> bool:
    """Whether the real renderer refuses to make a report of a bundle's entries."""
    try:
        render_report_html(report_source(members, json.loads(members[layout.MANIFEST])))
    except REFUSED:
        return True
    return False


def _rendered_html(parts: Parts, source_sha256: str) -> bytes:
    header = {"departure_id": parts.departure_id, "generated_at": parts.generated_at,
              "status": parts.status, "time_zone": parts.time_zone,
              "timestamps": [t.as_json() for t in parts.timestamps]}
    try:
        return render_report_html(report_source(parts.files, header, source_sha256))
    except REFUSED:
        # Entries the renderer refuses: the resealer keeps the old report with the new digest.
        old = parts.files[layout.REPORT_HTML]
        meta = f'name="{layout.REPORT_SOURCE_META}" content="'.encode()
        at = old.index(meta) + len(meta)
        return old[:at] + source_sha256.encode() + old[at + 64:]


def seal(parts: Parts, signers: Sequence[Signer], *, report: bool = True) -> dict[str, bytes]:
    """Every member in the exporter's order: the report made again over the parts (unless
    ``report`` is False: keep the parts'), the manifest over the members and the signature
    note over the manifest, signed by ``signers``."""
    files = dict(parts.files)
    header = parts.header()
    if report:
        files[layout.REPORT_HTML] = _rendered_html(parts, header.report_source_sha256)
        content = layout.manifest_bytes(header, [layout.Member.of(p, d) for p, d in files.items()
                                                 if p != layout.REPORT_PDF])
        files[layout.REPORT_PDF] = attached_pdf(content)
    manifest = layout.manifest_bytes(header, [layout.Member.of(p, d) for p, d in files.items()])
    signature = sign_note(layout.signature_text(parts.departure_id, manifest), signers)
    members = {layout.MIMETYPE: layout.MEDIA_TYPE.encode(), layout.MANIFEST: manifest,
               layout.SIGNATURE: signature}
    return members | {p: files[p] for p in member_order(files) if p in files}


def zip_bytes(members: Mapping[str, bytes]) -> bytes:
    """The ZIP of ``members`` in their order, written as the exporter writes one."""
    out = io.BytesIO()
    archive = BundleArchive(out, ZIP_TIME)
    for path, data in members.items():
        archive.add(path, data)
    archive.close()
    return out.getvalue()


def unzip_to(members: Mapping[str, bytes], folder: Path) -> Path:
    """Write ``members`` into ``folder`` as an auditor's unzip would."""
    for path, data in members.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return folder
