"""The backup's ``manifest.json``: what the backup holds and how to check it (no I/O here).

Format 1::

    {"format": "handover-ledger-backup", "format_version": 1,
     "created_at": "<RFC 3339 UTC>", "store": "sqlite" | "postgresql",
     "blob_store": "filesystem" | "postgres",
     "log": {"origin": …, "events": E, "size": N, "checkpoint": "<signed note>" | null},
     "verifier_keys": ["<name+id+key>", …], "keys_included": false,
     "missing_files": ["<sha256>", …],
     "parts": [{"path": "database.sqlite3", "kind": "database", "size": …, "sha256": …}, …]}

``log`` describes the database part exactly (read in the snapshot it was copied from).
``missing_files`` lists evidence files that events of the snapshot cite but the source's blob
store did not hold when the backup was made (a damaged source: normally empty).
Parts are the database (``database.sqlite3``, or ``database.pgdump`` in pg_dump's custom
format), evidence files of a filesystem blob store (``blobs/<aa>/<bb>/<sha256>``; with the
PostgreSQL blob store they are inside the dump) and, only when asked, the signing key folder
(``keys/…``). A restore refuses a major version it does not know, and any part whose size or
SHA-256 differs, or that is missing or not listed.
The manifest's bytes are signed with the log's key beside it, in ``manifest.signature``
(ledger.backup.signature): not a part, since it signs the list of parts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ledger.errors import VerificationError

FORMAT = "handover-ledger-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 256 << 20  # a million evidence files fit; a planted huge file does not
STORES = ("sqlite", "postgresql")
BLOB_STORES = ("filesystem", "postgres")
KINDS = ("database", "blob", "key")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_PATH_PART = re.compile(r"[A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Part:
    """One file of the backup: its path (relative, ``/``-separated), kind, size, SHA-256."""

    path: str
    kind: str
    size: int
    sha256: str


@dataclass(frozen=True)
class LogFacts:
    """The log as the database part holds it: origin, events, log size and the latest
    signed checkpoint note (None before the first one)."""

    origin: str
    events: int
    size: int
    checkpoint: str | None


@dataclass(frozen=True)
class Manifest:
    """What ``ledger backup`` wrote (see the module notes for the JSON)."""

    created_at: str
    store: str
    blob_store: str
    log: LogFacts
    verifier_keys: tuple[str, ...] = ()
    keys_included: bool = False
    parts: tuple[Part, ...] = field(default_factory=tuple)
    missing_files: tuple[str, ...] = ()

    def database(self) -> Part:
        """The database part (a valid manifest has exactly one)."""
        return next(p for p in self.parts if p.kind == "database")


def format_manifest(manifest: Manifest) -> bytes:
    """The manifest as UTF-8 JSON (indented: operators read it)."""
    log = manifest.log
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION,
           "created_at": manifest.created_at, "store": manifest.store,
           "blob_store": manifest.blob_store,
           "log": {"origin": log.origin, "events": log.events, "size": log.size,
                   "checkpoint": log.checkpoint},
           "verifier_keys": list(manifest.verifier_keys),
           "keys_included": manifest.keys_included,
           "missing_files": list(manifest.missing_files),
           "parts": [{"path": p.path, "kind": p.kind, "size": p.size, "sha256": p.sha256}
                     for p in manifest.parts]}
    return (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode()


def parse_manifest(data: bytes) -> Manifest:
    """The manifest in ``data``; any input, strictly checked. VerificationError names what
    is wrong: not this format, a major version this code does not know, a malformed field,
    a part path that could leave the backup folder, or no single database part."""
    try:
        doc = json.loads(data)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise VerificationError("not a Handover Ledger backup manifest")
        version = doc["format_version"]
        if not isinstance(version, int) or version != FORMAT_VERSION:
            raise VerificationError(f"backup format version {version!r} is not one this "
                                    f"ledger reads ({FORMAT_VERSION}); use a newer ledger")
        manifest = _read(doc)
    except (ValueError, KeyError, TypeError) as e:
        raise VerificationError(f"malformed backup manifest: {type(e).__name__}: {e}") from e
    if [p.kind for p in manifest.parts].count("database") != 1:
        raise VerificationError("malformed backup manifest: not exactly one database part")
    return manifest


def _read(doc: dict[str, Any]) -> Manifest:
    log = doc["log"]
    checkpoint = log["checkpoint"]
    facts = LogFacts(_text(log["origin"]), _count(log["events"]), _count(log["size"]),
                     None if checkpoint is None else _text(checkpoint))
    store, blob_store = _text(doc["store"]), _text(doc["blob_store"])
    if store not in STORES or blob_store not in BLOB_STORES:
        raise ValueError(f"unknown store {store!r} or blob store {blob_store!r}")
    parts = tuple(_part(p) for p in doc["parts"])
    if len({p.path for p in parts}) != len(parts):
        raise ValueError("a part is listed twice")
    keys = doc["keys_included"]
    if not isinstance(keys, bool):
        raise TypeError("keys_included is not a boolean")
    return Manifest(_text(doc["created_at"]), store, blob_store, facts,
                    tuple(_text(k) for k in doc["verifier_keys"]), keys, parts,
                    tuple(_text(m) for m in doc.get("missing_files", [])))


def _part(doc: dict[str, Any]) -> Part:
    path, kind, sha256 = _text(doc["path"]), _text(doc["kind"]), _text(doc["sha256"])
    if kind not in KINDS or not _SHA256.fullmatch(sha256):
        raise ValueError(f"part {path!r}: unknown kind or malformed sha256")
    pieces = path.split("/")
    if path == MANIFEST or not all(_PATH_PART.fullmatch(p) and p not in (".", "..")
                                   for p in pieces):
        raise ValueError(f"part path {path!r} is not a plain relative path")
    return Part(path, kind, _count(doc["size"]), sha256)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not a string")
    return value


def _count(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError(f"{value!r} is not a count")
    return value
