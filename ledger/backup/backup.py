"""``ledger backup``: a consistent copy of a running ledger in a new folder.

Order matters for consistency. The database is copied first, as one snapshot (SQLite's online
backup inside one read transaction; pg_dump of an exported snapshot), and the manifest's log
facts are read in that same snapshot. The evidence files of a filesystem blob store are copied
after it: a file is in place before the event citing it commits and is never removed, so every
file an event of the snapshot cites is there by then. With the PostgreSQL blob store the files
are rows of the dump, in the same snapshot. Signing keys are left out unless asked for; the
manifest is signed with them either way (ledger.backup.signature).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from ledger.backup.files import blob_files, key_files, verifier_keys
from ledger.backup.folder import StagedBackup
from ledger.backup.manifest import LogFacts, Manifest, format_manifest
from ledger.backup.signature import sign_manifest
from ledger.backup.snapshot import SnapshotFacts
from ledger.entry import format_time
from ledger.errors import ConfigurationError
from ledger.settings import Settings
from ledger.store.blob_factory import blob_store_kind
from ledger.store.factory import is_postgres_url, sqlite_path
from ledger.tlog.note import Signer
from ledger.transparency.keys import load_signers

Progress = Callable[[str, int, int | None], None]
"""(step, done, total or None): ``database`` (SQLite pages, or dump bytes), ``files``."""

SQLITE_PART = "database.sqlite3"
POSTGRES_PART = "database.pgdump"


def store_kind(database_url: str) -> str:
    """``sqlite`` or ``postgresql`` for a database URL (ConfigurationError otherwise)."""
    if sqlite_path(database_url) is not None:
        return "sqlite"
    if is_postgres_url(database_url):
        return "postgresql"
    raise ConfigurationError(f"unsupported database URL {database_url.split(':', 1)[0]!r}")


async def back_up(settings: Settings, dest: Path, *, include_keys: bool = False,
                  progress: Progress | None = None) -> Manifest:
    """Write a backup of the ledger ``settings`` name to the new folder ``dest`` and return
    its manifest. The service may keep running; nothing is left under ``dest`` unless the
    whole backup was written. Evidence files cited by the snapshot's events but absent from
    the source's blob store (a damaged source) are listed in ``missing_files``."""
    report = progress or (lambda step, done, total: None)
    kind = store_kind(settings.database_url)
    blob_kind = blob_store_kind(settings.database_url, settings.blob_store)
    keys = key_files(settings.key_dir) if include_keys else []
    signers = _signers(settings)
    staged = StagedBackup(dest)
    try:
        facts = await _copy_database(settings.database_url, kind, blob_kind, staged, report)
        missing = facts.missing
        if blob_kind == "filesystem":
            files = await asyncio.to_thread(blob_files, settings.data_dir / "blobs")
            await asyncio.to_thread(_copy_files, staged, files, "blob", report)
            missing = facts.cited - {relative.rsplit("/", 1)[-1] for _, relative in files}
        await asyncio.to_thread(_copy_files, staged, keys, "key", report)
        manifest = Manifest(
            created_at=format_time(dt.datetime.now(dt.UTC)), store=kind, blob_store=blob_kind,
            log=LogFacts(facts.origin(settings.log_origin), facts.events, facts.log_size,
                         None if facts.checkpoint is None else facts.checkpoint.decode()),
            verifier_keys=tuple(verifier_keys(settings.key_dir)),
            keys_included=include_keys, parts=tuple(staged.parts),
            missing_files=tuple(sorted(missing)))
        text = format_manifest(manifest)
        await asyncio.to_thread(staged.commit, text, sign_manifest(text, signers))
    except BaseException:
        await asyncio.to_thread(staged.abandon)
        raise
    return manifest


def _signers(settings: Settings) -> list[Signer]:
    """The log's signing keys, which sign the manifest (backup.signature)."""
    try:
        signers = load_signers(settings.key_dir, settings.log_origin)
    except OSError as e:
        raise ConfigurationError(f"LEDGER_KEY_DIR {settings.key_dir}: {e.strerror or e}") from e
    if not signers:
        raise ConfigurationError(
            f"LEDGER_KEY_DIR {settings.key_dir} holds no signing key: a backup's manifest is "
            "signed with the log's key, so run `ledger backup` where the service's keys are")
    return signers


async def _copy_database(url: str, kind: str, blob_kind: str, staged: StagedBackup,
                         report: Progress) -> SnapshotFacts:
    if kind == "sqlite":
        from ledger.backup.sqlite_copy import copy_online

        source = sqlite_path(url)
        if source is None or not source.exists():
            raise ConfigurationError(f"no ledger at {url}")
        facts = await asyncio.to_thread(
            copy_online, source, staged.path(SQLITE_PART),
            lambda done, total: report("database", done, total))
        await asyncio.to_thread(staged.add, SQLITE_PART, "database")
        return facts
    from ledger.backup.postgres_dump import dump

    facts = await dump(url, staged.path(POSTGRES_PART),
                       lambda written: report("database", written, None),
                       blobs_in_database=blob_kind == "postgres")
    await asyncio.to_thread(staged.add, POSTGRES_PART, "database")
    return facts


def _copy_files(staged: StagedBackup, files: list[tuple[Path, str]], kind: str,
                report: Progress) -> None:
    for done, (source, relative) in enumerate(files, start=1):
        staged.copy_in(source, relative, kind)
        report("files" if kind == "blob" else "keys", done, len(files))
