"""Export one departure's evidence bundle (docs/bundle-format.md, "Export").

Reads the case's streams, waits (bounded) for the log to cover all of them, proves every entry
against the latest signed checkpoint, renders the report (in worker processes: see
``ledger.bundle.render_pool``), writes the manifest, its signature
and the ZIP, and records ``DepartureEvidenceExported`` (in the next bundle, not this one).
The ZIP is written to a spooled temporary file (memory up to ``SPOOL_BYTES``, then disk) and
handed back to be streamed: attachments never sit whole in memory, and an export that fails
fails before its first byte is sent.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import functools
import importlib.resources
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO
from uuid import UUID

from ledger.aggregates.departure import FINAL_STATES, Departure
from ledger.bundle import layout as L
from ledger.bundle.archive import BundleArchive
from ledger.bundle.collect import CaseEntries, collect_case
from ledger.bundle.proofs import DEFAULT_WAIT_SECONDS, await_coverage, prove_all
from ledger.bundle.readme import readme_text
from ledger.bundle.render_pool import ReportRenderer
from ledger.bundle.report import report_renderer
from ledger.bundle.report_cosign import cosignature_file, cosignature_lines, cosigners
from ledger.bundle.source import ReportSource
from ledger.entry import Entry, format_time
from ledger.errors import ConflictError, VerificationError
from ledger.service.context import Actor, RequestContext
from ledger.service.export_cases import CheckpointRecord, RecordEvidenceExport, require_exporter
from ledger.service.ledger import Ledger
from ledger.store.blob_port import BlobStore
from ledger.store.cosignatures import CosignatureStore
from ledger.store.log_port import LogStore, StoredCheckpoint
from ledger.store.read_scope import require_current
from ledger.timestamp.bundle import TimestampMembers, timestamp_members
from ledger.timestamp.stamper import Stamper, StampOutcome
from ledger.tlog.checkpoint import parse_checkpoint
from ledger.tlog.note import Signer, sign_note, split_note

SPOOL_BYTES = 8 * 1024 * 1024
RECORD_ATTEMPTS = 5  # concurrent writes to the case (another export, say) before giving up
COPY_BYTES = 256 * 1024
# Events that put a file into the blob store, and where their payload names its digest.
_UPLOADS: dict[str, tuple[str, ...]] = {
    "ItemEvidenceUploaded": ("sha256",),
    "DisputeEvidenceUploaded": ("sha256",),
    "DepartureRequested": ("letter", "sha256"),
    "DepartureContractTerminated": ("document", "sha256"),
}


@dataclass(frozen=True)
class _Report:
    """What the report of one export is rendered from, and its rendering in progress."""

    moment: dt.datetime
    checkpoint: StoredCheckpoint
    source: ReportSource
    html: asyncio.Future[bytes]

    def settle(self) -> None:
        """Cancel the rendering if the export failed before it needed it (or mark its own
        failure as seen: the export's error is the one that counts)."""
        if not self.html.done():
            self.html.cancel()
        elif not self.html.cancelled():
            self.html.exception()


@dataclass(frozen=True)
class BundleExporter:
    """What an export needs, wired once by the composition root."""

    ledger: Ledger
    log: LogStore
    blobs: BlobStore
    signers: Sequence[Signer]
    time_zone: str
    clock: Callable[[], dt.datetime]
    poke: Callable[[], None] | None = None
    wait_seconds: float = DEFAULT_WAIT_SECONDS
    renderer: ReportRenderer = field(default_factory=ReportRenderer)
    """Renders ``report.html`` and ``report.pdf`` in worker processes, off the event loop."""
    stamper: Stamper | None = None
    """With LEDGER_TSA_URLS: the bundle's checkpoint gets an RFC 3161 timestamp before the
    bundle is built, waiting at most ``stamp_wait_seconds`` (then it goes on without)."""
    stamp_wait_seconds: float = 3.0
    cosignatures: CosignatureStore | None = None
    """Witness cosignatures of the checkpoint, bundled as ``META-INF/cosignatures``."""

    async def close(self) -> None:
        """Stop the report renderer's worker processes (the runtime's ``close`` does)."""
        await self.renderer.close()

    async def export(self, actor: Actor, departure_id: UUID, *, with_files: bool = False,
                     context: RequestContext | None = None) -> ExportedBundle:
        """Build the bundle as ``actor`` and record the export. NotFoundError for a case
        that is absent or that ``actor`` may not export; PushbackError when the log does not
        cover the case in time."""
        require_exporter(actor, await self.ledger.load(Departure, departure_id))
        case = await collect_case(self.ledger.store, departure_id)
        require_current()  # the log's reads (a read replica's) must have what was just read
        hashes = [e.event_hash for e in case.entries()]
        coverage = await await_coverage(self.log, hashes, wait_seconds=self.wait_seconds,
                                        poke=self.poke)
        stamps = timestamp_members(await self._timestamps(coverage.checkpoint), self.stamper)
        # The report needs the entries and the checkpoint, not the proofs: a worker process
        # renders it while this one reads the hashes the proofs need.
        report = await self._report(case, coverage.checkpoint, stamps)
        try:
            proofs = await prove_all(self.log, coverage, hashes)
            built = await self._build(case, report, proofs, with_files, stamps)
        finally:
            report.settle()
        checkpoint = built.checkpoint
        record = RecordEvidenceExport(
            departure_id=departure_id, bundle_format=L.BUNDLE_FORMAT, status=built.status,
            checkpoint=CheckpointRecord(origin=checkpoint.origin, size=checkpoint.size,
                                        root=checkpoint.root),
            manifest_sha256=built.manifest_sha256, with_files=with_files)
        try:
            for attempt in range(RECORD_ATTEMPTS):
                try:
                    await self.ledger.execute(record, actor, context)
                    break
                except ConflictError:  # another write to the case came first: the bundle
                    if attempt + 1 == RECORD_ATTEMPTS:  # stands as built; record it after it
                        raise
        except BaseException:
            built.close()
            raise
        if self.poke is not None:
            self.poke()
        built.timestamps = stamps.outcome
        return built

    async def _timestamps(self, checkpoint: StoredCheckpoint) -> StampOutcome | None:
        """The checkpoint's RFC 3161 timestamps, obtained now if it has none (bounded)."""
        if self.stamper is None:
            return None
        return await self.stamper.ensure(checkpoint, self.stamp_wait_seconds)

    async def _report(self, case: CaseEntries, signed: StoredCheckpoint,
                      stamps: TimestampMembers) -> _Report:
        """The bundle's facts and ``report.html``, its rendering started in a worker."""
        moment = self.clock()
        generated_at = format_time(moment)
        departure_id = str(case.departure.id)
        status = "final" if case.departure.state in FINAL_STATES else "interim"
        keys = await self.log.signing_keys()
        # The cosignatures the checkpoint has now: the report states them, the bundle carries
        # exactly these (one read, so both agree).
        cosignatures = (await self.cosignatures.of_size(signed.size)
                        if self.cosignatures is not None else {})
        entries = {L.entry_path(e.stream_type, str(e.stream_id), e.version): e.raw
                   for e in case.entries()}
        source = ReportSource(
            departure_id=departure_id, generated_at=generated_at, status=status,
            time_zone=self.time_zone, checkpoint=signed.note, keys=list(keys), entries=entries,
            report_source_sha256=L.report_source_sha256({L.CHECKPOINT: signed.note, **entries}),
            timestamps=tuple((t.gen_time, t.tsa_url) for t in stamps.refs),
            cosignatures=cosignature_lines("".join(cosignatures.values()).encode()))
        # The entries were read from the store with their chains verified (collect_case):
        # the renderer need not prove their canonical form again.
        html = asyncio.ensure_future(self.renderer.html(source, strict=False))
        return _Report(moment, signed, source, html)

    async def _build(self, case: CaseEntries, report: _Report, proofs: dict[bytes, bytes],
                     with_files: bool, stamps: TimestampMembers) -> ExportedBundle:
        source, note = report.source, report.checkpoint.note
        generated_at, departure_id, status = source.generated_at, source.departure_id, source.status
        checkpoint = L.CheckpointRef(parse_checkpoint(note_text(note)).origin,
                                     report.checkpoint.size,
                                     base64.b64encode(report.checkpoint.root).decode("ascii"))
        files: dict[str, bytes] = {
            L.README: readme_text(departure_id, generated_at, status,
                                  witnesses=[c.name for c in cosigners(source.cosignatures,
                                                                       source.time_zone)]),
            L.CHECKPOINT: note,
            L.KEYS: "".join(f"{k}\n" for k in source.keys).encode("ascii"),
            L.VERIFY_PY: verifier_source(),
            **source.entries,
            **{L.proof_path(e.stream_type, str(e.stream_id), e.version): proofs[e.event_hash]
               for e in case.entries()},
            **stamps.files,
        }
        if source.cosignatures:
            files[L.COSIGNATURES] = cosignature_file(source.cosignatures)
        files[L.REPORT_HTML] = await report.html
        attachments = await self._attachments(case.entries()) if with_files else {}
        header = L.ManifestHeader(
            departure_id=departure_id, generated_at=generated_at, status=status,
            time_zone=self.time_zone, checkpoint=checkpoint,
            streams=[L.StreamHead(s.type, s.id, len(s.entries), s.head.hex())
                     for s in case.streams],
            with_files=with_files, report_source_sha256=source.report_source_sha256,
            report_renderer=report_renderer(), timestamps=stamps.refs)
        members = [L.Member.of(p, d) for p, d in files.items()]
        members += [L.Member(L.file_path(h), n, h) for h, n in attachments.items()]
        printing = time.perf_counter()
        files[L.REPORT_PDF] = await self.renderer.pdf(files[L.REPORT_HTML],
                                                      L.manifest_bytes(header, members))
        pdf_seconds = time.perf_counter() - printing
        manifest = L.manifest_bytes(header, [*members, L.Member.of(L.REPORT_PDF,
                                                                    files[L.REPORT_PDF])])
        signature = sign_note(L.signature_text(departure_id, manifest), self.signers)
        out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - handed on
        try:
            archive = BundleArchive(out, report.moment)
            for path, data in [(L.MIMETYPE, L.MEDIA_TYPE.encode("ascii")),
                               (L.MANIFEST, manifest), (L.SIGNATURE, signature)]:
                archive.add(path, data)
            if L.COSIGNATURES in files:  # META-INF/ together, as ASiC-E keeps it
                archive.add(L.COSIGNATURES, files.pop(L.COSIGNATURES))
            for path in member_order(files):
                archive.add(path, files[path])
            for sha256, size in sorted(attachments.items()):
                await archive.add_stream(L.file_path(sha256), self.blobs.read(sha256),
                                         sha256, size)
            archive.close()
            size = out.tell()
            out.seek(0)
        except BaseException:
            out.close()
            raise
        return ExportedBundle(departure_id, status, checkpoint, L.sha256_hex(manifest),
                              out, size, pdf_seconds)

    async def _attachments(self, entries: Iterator[Entry]) -> dict[str, int]:
        """sha256 → size of every file the case's uploads put into the blob store."""
        found: dict[str, int] = {}
        for sha256 in sorted(set(cited_uploads(entries))):
            size = await self.blobs.size_of(sha256)
            if size is None:
                raise VerificationError(f"the case cites the upload {sha256}, which the blob "
                                        "store does not hold; run ledger verify")
            found[sha256] = size
        return found


def cited_uploads(entries: Iterator[Entry]) -> Iterator[str]:
    """The digest of every file the entries record as uploaded."""
    for entry in entries:
        where = _UPLOADS.get(entry.event_type)
        if where is None:
            continue
        value: object = entry.payload
        for key in where:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str):
            yield value


def member_order(files: dict[str, bytes]) -> list[str]:
    """The spec's order after ``mimetype``, the manifest and its signature: the other
    ``META-INF/`` members (timestamps), the fixed files, then ``entries/`` and ``proofs/``,
    each by path (bytewise)."""
    meta = sorted((p for p in files if p.startswith("META-INF/")), key=str.encode)
    fixed = [L.README, L.CHECKPOINT, L.KEYS, L.VERIFY_PY, L.REPORT_HTML, L.REPORT_PDF]
    rest = sorted((p for p in files if p not in fixed and p not in meta), key=lambda p: (
        not p.startswith("entries/"), p.encode()))
    return [*meta, *fixed, *rest]


def note_text(note: bytes) -> str:
    """The text of a signed note, before its signatures (ledger.tlog.note.split_note)."""
    return split_note(note)[0]


@functools.cache
def verifier_source() -> bytes:
    """The bundle's ``verify.py``: the package's own file, byte for byte."""
    return importlib.resources.files("ledger.bundle").joinpath("verify.py").read_bytes()


@dataclass
class ExportedBundle:
    """A built bundle: what was recorded about it, and its bytes (read them once, then
    ``close``)."""

    departure_id: str
    status: str
    checkpoint: L.CheckpointRef
    manifest_sha256: str
    file: IO[bytes]
    size: int
    pdf_seconds: float = 0.0
    """How long printing ``report.pdf`` took (the benchmark reports it apart)."""
    timestamps: StampOutcome | None = None
    """The checkpoint's RFC 3161 timestamps (None: no authority is configured); with
    ``failures`` and no stamps, the bundle went without one, and says why."""

    def chunks(self, size: int = COPY_BYTES) -> Iterator[bytes]:
        """The ZIP's bytes, from the start, ``size`` at a time."""
        self.file.seek(0)
        while chunk := self.file.read(size):
            yield chunk

    def close(self) -> None:
        self.file.close()

    def filename(self) -> str:
        """The name a download suggests: ``evidence-<departure id>.zip``."""
        return f"evidence-{self.departure_id}.zip"
