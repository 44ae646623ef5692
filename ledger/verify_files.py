"""``ledger verify``'s check of the evidence files: every file an ``ItemEvidenceUploaded``
event records (and a departure's resignation letter and termination document, ``FILE_EVENTS``)
must be in the blob store and hash to its name, with the recorded size.

A changed or missing file is reported with the item and the event that recorded it: the
ledger's chains can be intact while the file they cite was overwritten on disk or in the
database, and a file served as if intact would betray the evidence it stands for. Each
distinct file is read (streamed) and hashed once, however many uploads record it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ledger.entry import decode_entry
from ledger.errors import VerificationError
from ledger.store.blob_port import BlobStore, stored_digest
from ledger.store.port import AuditRow

UPLOAD_EVENT = "ItemEvidenceUploaded"
# Every event type that records a file in the blob store (an item's evidence, a dispute's, a
# leaver's resignation letter, the contract's termination document) → the payload field
# holding the file (None: the payload itself).
FILE_EVENTS: dict[str, str | None] = {UPLOAD_EVENT: None, "DisputeEvidenceUploaded": None,
                                      "DepartureRequested": "letter",
                                      "DepartureContractTerminated": "document"}
Progress = Callable[[int], None]  # files checked so far


@dataclass
class FileReport:
    """What ``verify_files`` found: uploads and distinct files checked, and every problem."""

    uploads: int = 0
    files: int = 0
    problems: list[VerificationError] = field(default_factory=list)


@dataclass(frozen=True)
class Upload:
    item_id: str  # the stream the upload was recorded on: an item, or a dispute
    event_id: str
    version: int
    sha256: str
    size: int
    stream_type: str = "item"


def recorded_upload(row: AuditRow) -> Upload | None:
    """The upload a row records; None when the row cannot be read (the chain check, which
    verified every row, has reported it already)."""
    try:
        entry = decode_entry(bytes(row[7]), bytes(row[6]), strict=False)
        field_name = FILE_EVENTS.get(entry.event_type)
        cited = entry.payload[field_name] if field_name else entry.payload
    except (VerificationError, KeyError):
        return None
    if not isinstance(cited, Mapping) or "sha256" not in cited or "size" not in cited:
        return None
    sha256, size = cited["sha256"], cited["size"]
    if not isinstance(sha256, str) or not isinstance(size, int):
        return None
    return Upload(row[3], row[1], row[4], sha256, size, row[2])


def cited_files(rows: Iterable[AuditRow]) -> set[str]:
    """The SHA-256 of every file the rows (of ``FILE_EVENTS``) cite (``ledger backup``
    checks each is in the backup)."""
    return {upload.sha256 for row in rows if (upload := recorded_upload(row)) is not None}


async def verify_files(blobs: BlobStore, upload_rows: Sequence[AuditRow | Upload],
                       progress: Progress | None = None) -> FileReport:
    """Check the file of every upload row (rows of ``FILE_EVENTS``, as the chain check read
    them, or the uploads ``recorded_upload`` read from them) against the blob store."""
    report = FileReport()
    by_file: dict[tuple[str, int], list[Upload]] = {}
    for row in upload_rows:
        upload = row if isinstance(row, Upload) else recorded_upload(row)
        if upload is not None:
            report.uploads += 1
            by_file.setdefault((upload.sha256, upload.size), []).append(upload)
    found: dict[str, tuple[str, int] | None] = {}
    for (sha256, size), uploads in by_file.items():
        if sha256 not in found:
            # One byte past the largest recorded size shows a longer file without reading on.
            largest = max(s for (digest, s) in by_file if digest == sha256)
            found[sha256] = await stored_digest(blobs, sha256, limit=largest)
            report.files += 1
            if progress is not None:
                progress(report.files)
        problem = _problem(sha256, size, found[sha256])
        if problem is not None:
            report.problems += [_located(problem, u) for u in uploads]
    return report


def _problem(sha256: str, size: int, stored: tuple[str, int] | None) -> str | None:
    if stored is None:
        return f"evidence file {sha256} is missing from the blob store"
    actual, actual_size = stored
    if actual_size < 0:
        return f"evidence file {sha256} cannot be read from the blob store ({actual})"
    if actual_size > size:
        return (f"evidence file {sha256} is changed: it holds more than the {size} bytes the "
                "upload recorded")
    if actual != sha256:
        return (f"evidence file {sha256} is changed: its stored {actual_size} bytes hash to "
                f"{actual}")
    if actual_size != size:
        return f"evidence file {sha256} has {actual_size} bytes, the upload recorded {size}"
    return None


def _located(problem: str, upload: Upload) -> VerificationError:
    return VerificationError(
        f"{problem} (uploaded to {upload.stream_type} {upload.item_id}, recorded by event "
        f"{upload.event_id}, "
        f"version {upload.version})", stream_id=upload.item_id, version=upload.version,
        event_id=upload.event_id)
