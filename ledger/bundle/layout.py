"""The bytes of an evidence bundle, format 1 (docs/bundle-format.md): names, manifest, digests.

Pure: no I/O. The exporter, the report and ``ledger verify-bundle`` share these; the bundle's own
``verify.py`` restates them with the standard library only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ledger.canonical import JSONObject, encode_canonical

MEDIA_TYPE = "application/vnd.handover-ledger.evidence-bundle+zip"
BUNDLE_FORMAT = 1
FORMAT_MINOR = 2
STREAM_ORDER = ("departure", "item", "template", "dispute")

MIMETYPE = "mimetype"
MANIFEST = "META-INF/manifest.json"
SIGNATURE = "META-INF/signature"
COSIGNATURES = "META-INF/cosignatures"
README = "README.txt"
CHECKPOINT = "checkpoint"
KEYS = "keys"
VERIFY_PY = "verify.py"
REPORT_HTML = "report.html"
REPORT_PDF = "report.pdf"
CONTENT_MANIFEST_NAME = "manifest.json"
"""The name of the content manifest attached to ``report.pdf``."""

SIGNATURE_HEADER = "handover-ledger/evidence-bundle/v1"
REPORT_SOURCE_META = "ledger-report-source"


def entry_path(stream_type: str, stream_id: str, version: int) -> str:
    """``entries/<type>/<stream-id>/<version, 6 digits>.json``."""
    return f"entries/{stream_type}/{stream_id}/{version:06d}.json"


def proof_path(stream_type: str, stream_id: str, version: int) -> str:
    """``proofs/<type>/<stream-id>/<version, 6 digits>.tlog-proof``."""
    return f"proofs/{stream_type}/{stream_id}/{version:06d}.tlog-proof"


def file_path(sha256_hex: str) -> str:
    """``files/<sha256>``: an attachment, named by its digest."""
    return f"files/{sha256_hex}"


def timestamp_path(n: int) -> str:
    """``META-INF/timestamp-<n>.tst``: the n-th RFC 3161 token over ``checkpoint`` (from 1)."""
    return f"META-INF/timestamp-{n}.tst"


def timestamp_chain_path(n: int) -> str:
    """``META-INF/timestamp-<n>.pem``: the certificates of that token's authority (PEM)."""
    return f"META-INF/timestamp-{n}.pem"


def format_gen_time(moment: dt.datetime) -> str:
    """A token's time as the manifest writes it: RFC 3339 UTC, ``Z``, with the fraction of a
    second only when it has one (trailing zeros dropped, as DER's GeneralizedTime does)."""
    utc = moment.astimezone(dt.UTC)
    fraction = f".{utc.microsecond:06d}".rstrip("0") if utc.microsecond else ""
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Member:
    """One file of the bundle as the manifest lists it."""

    path: str
    size: int
    sha256: str

    def as_json(self) -> JSONObject:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}

    @classmethod
    def of(cls, path: str, data: bytes) -> Member:
        return cls(path, len(data), sha256_hex(data))


@dataclass(frozen=True)
class StreamHead:
    """One stream in the bundle: its type, id, number of versions and last event hash."""

    type: str
    id: str
    versions: int
    head: str

    def as_json(self) -> JSONObject:
        return {"type": self.type, "id": self.id, "versions": self.versions, "head": self.head}


@dataclass(frozen=True)
class CheckpointRef:
    """The checkpoint every proof is against, as the manifest names it."""

    origin: str
    size: int
    root: str
    """Base64, as the checkpoint note writes it."""

    def as_json(self) -> JSONObject:
        return {"origin": self.origin, "size": self.size, "root": self.root}


@dataclass(frozen=True)
class TimestampRef:
    """One RFC 3161 token over the checkpoint, as the manifest names it (format 1.2): its
    member, its authority's certificates, the authority's URL and the token's time."""

    token: str
    chain: str
    tsa_url: str
    gen_time: str

    def as_json(self) -> JSONObject:
        return {"token": self.token, "chain": self.chain, "tsa_url": self.tsa_url,
                "gen_time": self.gen_time}


def sort_streams(streams: Iterable[StreamHead]) -> list[StreamHead]:
    """Departure, items, templates, disputes; then by id."""
    return sorted(streams, key=lambda s: (STREAM_ORDER.index(s.type), s.id))


def report_source_listing(files: Mapping[str, bytes]) -> bytes:
    """The ``sha256sum`` listing of ``checkpoint`` and every ``entries/`` member, by path."""
    paths = sorted(p for p in files if p == CHECKPOINT or p.startswith("entries/"))
    return "".join(f"{sha256_hex(files[p])}  {p}\n" for p in paths).encode("ascii")


def report_source_sha256(files: Mapping[str, bytes]) -> str:
    """The digest a report carries of the files it was rendered from."""
    return sha256_hex(report_source_listing(files))


@dataclass(frozen=True)
class ManifestHeader:
    """Everything in the manifest except the file list."""

    departure_id: str
    generated_at: str
    status: str
    time_zone: str
    checkpoint: CheckpointRef
    streams: Sequence[StreamHead]
    with_files: bool
    report_source_sha256: str
    report_renderer: Mapping[str, str] | None = None
    """The renderer of ``report.html`` (``ledger.bundle.report.report_renderer``); None
    leaves it out, as format 1.0 did."""
    timestamps: Sequence[TimestampRef] = ()
    """RFC 3161 tokens over the checkpoint (format 1.2); none leaves the member out."""


def manifest_bytes(header: ManifestHeader, members: Iterable[Member]) -> bytes:
    """The manifest (or, without ``report.pdf`` among ``members``, the content manifest)."""
    listed = sorted(members, key=lambda m: m.path.encode())
    doc: JSONObject = {
        "bundle_format": BUNDLE_FORMAT,
        "format_minor": FORMAT_MINOR,
        "media_type": MEDIA_TYPE,
        "departure_id": header.departure_id,
        "generated_at": header.generated_at,
        "status": header.status,
        "time_zone": header.time_zone,
        "checkpoint": header.checkpoint.as_json(),
        "streams": [s.as_json() for s in sort_streams(header.streams)],
        "with_files": header.with_files,
        "report_source_sha256": header.report_source_sha256,
        "files": [m.as_json() for m in listed],
        **({} if header.report_renderer is None
           else {"report_renderer": dict(header.report_renderer)}),
        **({"timestamps": [t.as_json() for t in header.timestamps]} if header.timestamps
           else {}),
    }
    return encode_canonical(doc)


def signature_text(departure_id: str, manifest: bytes) -> str:
    """The text of ``META-INF/signature``'s note."""
    return f"{SIGNATURE_HEADER}\n{departure_id}\n{sha256_hex(manifest)}\n"
