"""``ledger restore``: a backup into an empty database, checked before and after.

Before a byte is written: the manifest's signature is checked with verifier keys the restore
trusts (the key folder's and ``--key``'s, never the ones the backup lists), then the manifest
is read (a format version this code does not know is refused), every part is hashed against
it, the backup must suit the target (same kind of store, the same log name, a blob store that
can hold its files) and the target must be empty unless ``force``. Then the database is
restored (SQLite's backup API; pg_restore in one transaction), the evidence files of a
filesystem-store backup are put into the target's blob store through its own port (each
re-hashed on the way), and the keys, only when asked, into an empty key folder. Last, the
restored ledger gets the whole of ``ledger verify``, and its latest signed checkpoint and
event count must be the manifest's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from ledger.backup.backup import POSTGRES_PART, SQLITE_PART, Progress, store_kind
from ledger.backup.files import install_keys
from ledger.backup.folder import check_parts, read_manifest_bytes, read_signature_bytes
from ledger.backup.manifest import Manifest, Part, parse_manifest
from ledger.backup.signature import SIGNATURE, verify_manifest_signature
from ledger.errors import ConfigurationError, VerificationError
from ledger.settings import Settings
from ledger.store.blob_factory import blob_store_kind
from ledger.store.blob_port import CHUNK_BYTES, BlobStore
from ledger.store.factory import sqlite_path
from ledger.store.sqlite_owner import serve_alone, serving_refusal
from ledger.tlog.note import Verifier, parse_verifier_key
from ledger.transparency.keys import load_verifiers, unique_verifiers
from ledger.transparency.log_identity import describe_database
from ledger.verify import LedgerReport, verify_ledger


@dataclass
class RestoreReport:
    """What was restored and what its verification found."""

    manifest: Manifest
    verified: LedgerReport
    files: int = 0  # evidence files put into the blob store from the backup's parts
    keys_from_backup: bool = False  # no trusted key given: the backup's own verifier keys
    # Why the manifest's signature was not checked (only with allow_unsigned), else None.
    unsigned: str | None = None
    problems: list[VerificationError] = field(default_factory=list)  # beyond ledger verify

    @property
    def ok(self) -> bool:
        """True when the restored ledger verified and matches its manifest."""
        return not self.problems and not self.verified.problems


def read_backup(source: Path, trusted: list[Verifier], *,
                allow_unsigned: bool = False) -> tuple[Manifest, str | None]:
    """The backup's manifest (its signature checked with ``trusted``, parsed and checked, not
    yet its parts), and why its signature was not checked (None: it was). A signature that
    fails is refused whatever ``allow_unsigned`` says; a missing one, or no trusted key to
    check it with, only without it."""
    data = read_manifest_bytes(source)
    signature = read_signature_bytes(source)
    unsigned = None
    if signature is None:
        unsigned = f"the backup has no manifest signature ({SIGNATURE})"
        if not allow_unsigned:
            raise VerificationError(
                f"backup {source} has no manifest signature ({SIGNATURE}): it was made before "
                "backups were signed, or the signature was removed. Restore it only if you "
                "know where it has been, with --allow-unsigned")
    elif not trusted:
        unsigned = "no trusted verifier key to check the manifest signature with"
        if not allow_unsigned:
            raise ConfigurationError(
                "no trusted verifier key to check the backup's manifest signature with: "
                "LEDGER_KEY_DIR holds none and no --key was given. Pass the log's published "
                "verifier key with --key (the keys a backup lists are no proof of its origin)")
    else:
        verify_manifest_signature(data, signature, trusted)
    return parse_manifest(data), unsigned


async def restore(settings: Settings, source: Path, *, force: bool = False,
                  include_keys: bool = False, trusted_keys: tuple[str, ...] = (),
                  allow_unsigned: bool = False,
                  progress: Progress | None = None) -> RestoreReport:
    """Restore the backup folder ``source`` into the database ``settings`` name (and its
    blob store and, with ``include_keys``, its key folder); see the module notes.
    ``allow_unsigned``: restore a backup without a manifest signature, or without a trusted
    key to check it with (said so in the report)."""
    report = progress or (lambda step, done, total: None)
    # Trusted: what is in the key folder before anything is restored into it, and --key.
    trusted = load_verifiers(settings.key_dir, list(trusted_keys))
    manifest, unsigned = read_backup(source, trusted, allow_unsigned=allow_unsigned)
    _check_suits(settings, manifest, include_keys)
    total = sum(p.size for p in manifest.parts)
    checked = [0]

    def hashed(count: int) -> None:
        checked[0] += count
        report("check", checked[0], total)

    await asyncio.to_thread(check_parts, source, manifest, hashed)
    path = sqlite_path(settings.database_url)
    # No service may run on the database while it is replaced (an SQLite file: held as
    # ``ledger serve`` holds it, so none starts meanwhile either).
    with serve_alone(path, restoring=True) if path is not None else contextlib.nullcontext():
        await _refuse_if_served(settings.database_url)
        await _restore_database(settings, source, manifest, force, report)
        if include_keys:
            keys = [p.path for p in manifest.parts if p.kind == "key"]
            await asyncio.to_thread(install_keys, source, keys, settings.key_dir)
        restored = await _verify(settings, source, manifest, trusted_keys, report)
    restored.unsigned = unsigned
    return restored


async def _refuse_if_served(url: str) -> None:
    """PostgreSQL: refuse while another session holds one of the ledger's advisory locks
    (a running ``ledger serve`` holds the sequencer's or a role's)."""
    if sqlite_path(url) is not None:
        return
    from ledger.backup import postgres_dump

    pids = await postgres_dump.serving_sessions(url)
    if pids:
        raise ConfigurationError(serving_refusal(
            describe_database(url), "PostgreSQL backend pid " + ", ".join(map(str, pids))))


def _check_suits(settings: Settings, manifest: Manifest, include_keys: bool) -> None:
    kind = store_kind(settings.database_url)
    if manifest.store != kind:
        scheme = "sqlite:///…" if manifest.store == "sqlite" else "postgresql://…"
        raise ConfigurationError(f"this is a backup of a {manifest.store} ledger; restore it "
                                 f"into a {manifest.store} database (--database {scheme})")
    if manifest.log.checkpoint is not None and manifest.log.origin != settings.log_origin:
        raise ConfigurationError(f"the backup's log is named {manifest.log.origin!r}, but "
                                 f"LEDGER_LOG_ORIGIN is {settings.log_origin!r}: set it to "
                                 "the backup's log name")
    target_blobs = blob_store_kind(settings.database_url, settings.blob_store)
    if manifest.blob_store == "postgres" and target_blobs != "postgres":
        raise ConfigurationError("the backup's evidence files are in its PostgreSQL dump: "
                                 "restore with LEDGER_BLOB_STORE=postgres (the default)")
    if include_keys and not manifest.keys_included:
        raise ConfigurationError("this backup holds no signing keys (it was made without "
                                 "--include-keys): restore the key folder from where you "
                                 "keep it")


async def _restore_database(settings: Settings, source: Path, manifest: Manifest,
                            force: bool, report: Progress) -> None:
    url = settings.database_url
    where = describe_database(url)
    path = sqlite_path(url)
    report("database", 0, None)
    if path is not None:
        from ledger.backup import sqlite_copy

        contents = await asyncio.to_thread(sqlite_copy.describe_contents, path)
        _refuse_unless(force, where, contents)
        await asyncio.to_thread(sqlite_copy.restore_into, source / SQLITE_PART, path,
                                lambda done, total: report("database", done, total))
        return
    from ledger.backup import postgres_dump

    contents = await postgres_dump.describe_contents(url)
    _refuse_unless(force, where, contents)
    if contents is not None:
        await postgres_dump.clear(url)
    await postgres_dump.restore(url, source / POSTGRES_PART)
    report("database", manifest.database().size, manifest.database().size)


def _refuse_unless(force: bool, where: str, contents: str | None) -> None:
    if contents is not None and not force:
        raise ConfigurationError(
            f"{where} is not empty ({contents}): a restore goes into an empty database. "
            "Create a new one and restore there, or pass --force to replace everything in "
            "it (stop every service using it first)")


async def _verify(settings: Settings, source: Path, manifest: Manifest,
                  trusted_keys: tuple[str, ...], report: Progress) -> RestoreReport:
    from ledger.bootstrap import open_storage

    verifiers, from_backup = _verifiers(settings, manifest, trusted_keys)
    opened = await open_storage(settings, operator=True)
    try:
        blobs = [p for p in manifest.parts if p.kind == "blob"]
        await _put_files(opened.blobs, source, blobs, report)
        verified = await verify_ledger(
            opened.store, opened.log, verifiers, settings.log_origin,
            lambda step, done: report(f"verify {step}", done, None),
            database_url=settings.database_url, blobs=opened.blobs)
        latest = await opened.log.latest_checkpoint()
        events = await opened.store.count_events()
    finally:
        await opened.close()
    restored = RestoreReport(manifest, verified, len(blobs), from_backup)
    note = None if latest is None else latest.note.decode()
    if note != manifest.log.checkpoint or events != manifest.log.events:
        restored.problems.append(VerificationError(
            f"the restored database holds {events} events and a checkpoint of size "
            f"{0 if latest is None else latest.size}, but the manifest says "
            f"{manifest.log.events} events and size {manifest.log.size}"))
    return restored


def _verifiers(settings: Settings, manifest: Manifest,
               trusted_keys: tuple[str, ...]) -> tuple[list[Verifier], bool]:
    """The keys the restored checkpoints are checked with: the key folder's and the ones
    given; with neither, the backup's own (said so in the report)."""
    trusted = load_verifiers(settings.key_dir, list(trusted_keys))
    if trusted:
        return trusted, False
    return unique_verifiers(parse_verifier_key(k) for k in manifest.verifier_keys), True


async def _put_files(blobs: BlobStore, source: Path, parts: list[Part],
                     report: Progress) -> None:
    for done, part in enumerate(parts, start=1):
        sha256, _ = await blobs.put(_chunks(source / part.path))
        if sha256 != part.path.rsplit("/", 1)[-1]:
            raise VerificationError(f"{part.path}: its bytes hash to {sha256}, not its name")
        report("files", done, len(parts))


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        while chunk := await asyncio.to_thread(f.read, CHUNK_BYTES):
            yield chunk
