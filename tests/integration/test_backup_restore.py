"""``ledger backup`` and ``ledger restore`` on both stores (real PostgreSQL: a scratch
database per restore target): a backup taken while events are appended restores into a fresh
database and verifies; a restore that lost acknowledged events is named as such by the
published checkpoint; a tampered backup, a non-empty target and keys are handled as an
operator needs."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import stat
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from ledger.backup.backup import back_up
from ledger.backup.restore import restore
from ledger.bootstrap import bootstrap
from ledger.cli import build_parser
from ledger.errors import ConfigurationError, VerificationError
from ledger.runtime import Runtime
from ledger.settings import Settings
from ledger.store.log_port import StoredCheckpoint
from ledger.tlog.checkpoint import Checkpoint, format_checkpoint
from ledger.tlog.note import sign_note
from ledger.transparency.extension import RollbackError, verify_log_extends
from ledger.transparency.keys import load_signers, load_verifiers
from ledger.verify_files import FILE_EVENTS, cited_files
from tests.integration.http_fixtures import postgres_database
from tests.support.backup import (
    append_events,
    play_seeds,
    published_checkpoint,
    sequence,
    settings_for,
)
from tests.support.blob_tamper import delete_blob


@pytest.fixture(params=["sqlite", "postgres"])
def kind(request: pytest.FixtureRequest) -> str:
    """Which store the ledger runs on."""
    return str(request.param)


@pytest.fixture
def source_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The running ledger's database: a SQLite file, or this worker's PostgreSQL database."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'source' / 'ledger.db'}"
    return str(request.getfixturevalue("pg_dsn"))


@contextlib.asynccontextmanager
async def target_database(kind: str, folder: Path) -> AsyncIterator[str]:
    """A fresh, empty database to restore into (PostgreSQL: created, dropped after)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'ledger.db'}"
        return
    async with postgres_database() as dsn:
        yield dsn


@pytest.fixture
async def running(source_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    """The source ledger, open, with the seed scenarios' events and evidence files."""
    runtime = await bootstrap(settings_for(source_url, tmp_path / "source"))
    try:
        await play_seeds(runtime)
        yield runtime
    finally:
        await runtime.close()


def _target(url: str, folder: Path, source: Runtime) -> Settings:
    """Settings for the restored ledger: its own data folder, the source's keys (the
    operator mounts them where the restored service runs)."""
    settings = settings_for(url, folder)
    return Settings(**{**settings.__dict__, "key_dir": source.settings.key_dir})


async def test_a_backup_taken_while_events_are_appended_restores_and_verifies(
        running: Runtime, kind: str, tmp_path: Path) -> None:
    published = await published_checkpoint(running, tmp_path, "published")
    stop = asyncio.Event()
    appended = 0

    async def writer() -> None:
        nonlocal appended
        while not stop.is_set():
            await append_events(running, 5, stream_size=5)
            appended += 5

    writing = asyncio.ensure_future(writer())
    try:
        await asyncio.sleep(0.05)
        manifest = await back_up(running.settings, tmp_path / "backup")
    finally:
        stop.set()
        await writing
    assert appended > 0
    assert manifest.store == ("sqlite" if kind == "sqlite" else "postgresql")
    files = [p for p in manifest.parts if p.kind == "blob"]
    assert (len(files) > 0) == (kind == "sqlite")  # PostgreSQL's files are in its dump
    async with target_database(kind, tmp_path / "restored") as url:
        settings = _target(url, tmp_path / "restored", running)
        restored = await restore(settings, tmp_path / "backup")
        assert restored.ok, [*restored.problems, *restored.verified.problems]
        assert not restored.keys_from_backup
        verified = restored.verified
        assert verified.files is not None and verified.files.files > 0  # every file present
        assert verified.chains.events == manifest.log.events
        assert verified.log.size == manifest.log.size
        # The snapshot is consistent even though the writer kept going: the manifest's
        # checkpoint is the restored log's latest one, over exactly its entries.
        restored_runtime = await bootstrap(settings, migrate=False, sequencer=False)
        try:
            extension = await verify_log_extends(
                restored_runtime.log, published.read_bytes(),
                load_verifiers(settings.key_dir), settings.log_origin)
            assert extension.size == manifest.log.size >= extension.published.size
        finally:
            await restored_runtime.close()


async def test_restoring_a_backup_older_than_the_published_checkpoint_names_what_was_lost(
        running: Runtime, kind: str, tmp_path: Path) -> None:
    manifest = await back_up(running.settings, tmp_path / "backup")
    await append_events(running, 37)
    newer = await published_checkpoint(running, tmp_path, "newer")
    async with target_database(kind, tmp_path / "restored") as url:
        settings = _target(url, tmp_path / "restored", running)
        assert (await restore(settings, tmp_path / "backup")).ok
        restored = await bootstrap(settings, migrate=False, sequencer=False)
        try:
            with pytest.raises(RollbackError) as lost:
                await verify_log_extends(restored.log, newer.read_bytes(),
                                         load_verifiers(settings.key_dir), settings.log_origin)
        finally:
            await restored.close()
    assert lost.value.missing == 37
    assert (lost.value.size, lost.value.trusted_size) == (manifest.log.size,
                                                          manifest.log.size + 37)


async def test_a_backup_with_one_flipped_byte_is_refused_and_nothing_is_restored(
        running: Runtime, kind: str, tmp_path: Path) -> None:
    manifest = await back_up(running.settings, tmp_path / "backup")
    part = tmp_path / "backup" / manifest.database().path
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x01
    part.write_bytes(bytes(data))
    async with target_database(kind, tmp_path / "restored") as url:
        settings = _target(url, tmp_path / "restored", running)
        with pytest.raises(VerificationError,
                           match=rf"{manifest.database().path} differs from the manifest"):
            await restore(settings, tmp_path / "backup")
        if kind == "sqlite":
            assert not (tmp_path / "restored" / "ledger.db").exists()
        else:  # still empty: a second, honest restore is not refused as "not empty"
            from ledger.backup.postgres_dump import describe_contents

            assert await describe_contents(url) is None


async def test_a_part_reached_through_a_linked_folder_is_refused(
        tmp_path: Path) -> None:
    """A backup whose folder of evidence files was swapped for a link to a folder outside
    (holding the same bytes) is refused: a restore reads nothing outside the backup."""
    runtime = await bootstrap(settings_for(f"sqlite:///{tmp_path / 'source' / 'l.db'}",
                                           tmp_path / "source"))
    try:
        await play_seeds(runtime)
        manifest = await back_up(runtime.settings, tmp_path / "backup")
        blob = next(p for p in manifest.parts if p.kind == "blob")
        folder = (tmp_path / "backup" / blob.path).parent
        outside = tmp_path / "outside"
        folder.rename(outside)
        folder.symlink_to(outside, target_is_directory=True)
        async with target_database("sqlite", tmp_path / "restored") as url:
            with pytest.raises(VerificationError, match=rf"{blob.path} is missing"):
                await restore(_target(url, tmp_path / "restored", runtime),
                              tmp_path / "backup")
    finally:
        await runtime.close()


async def test_keys_are_left_out_unless_asked_and_then_written_private(
        running: Runtime, kind: str, tmp_path: Path) -> None:
    plain = await back_up(running.settings, tmp_path / "plain")
    assert not plain.keys_included and not list((tmp_path / "plain").rglob("*.skey"))
    assert plain.verifier_keys  # public keys are named, so a restore can say what it used
    keyed = await back_up(running.settings, tmp_path / "keyed", include_keys=True)
    assert keyed.keys_included
    skeys = list((tmp_path / "keyed" / "keys").glob("*.skey"))
    assert skeys and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in skeys)
    assert stat.S_IMODE((tmp_path / "keyed").stat().st_mode) == 0o700
    async with target_database(kind, tmp_path / "restored") as url:
        settings = settings_for(url, tmp_path / "restored")
        # The keys come from the backup itself, so the manifest's signature is checked
        # with the log's published verifier key.
        vkey = next(running.settings.key_dir.glob("*.vkey")).read_text().strip()
        with pytest.raises(ConfigurationError, match="holds no signing keys"):
            await restore(settings, tmp_path / "plain", include_keys=True, trusted_keys=(vkey,))
        restored = await restore(settings, tmp_path / "keyed", include_keys=True,
                                 trusted_keys=(vkey,))
        assert restored.ok and not restored.keys_from_backup
        for original in running.settings.key_dir.glob("*.skey"):
            copy = settings.key_dir / original.name
            assert copy.read_bytes() == original.read_bytes()
            assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        # The restored keys sign the restored log: the service starts on it and sequences.
        runtime = await bootstrap(settings, migrate=False)
        try:
            await append_events(runtime, 3)
            latest = await runtime.log.latest_checkpoint()
            assert latest is not None and latest.size == keyed.log.size + 3
        finally:
            await runtime.close()


async def test_restore_refuses_a_database_that_is_not_empty_unless_forced(
        running: Runtime, kind: str, tmp_path: Path) -> None:
    manifest = await back_up(running.settings, tmp_path / "backup")
    async with target_database(kind, tmp_path / "restored") as url:
        settings = _target(url, tmp_path / "restored", running)
        other = await bootstrap(settings_for(url, tmp_path / "other"))
        try:
            await append_events(other, 4)
        finally:
            await other.close()
        with pytest.raises(ConfigurationError, match=r"is not empty \(.*4 event\(s\)\).*--force"):
            await restore(settings, tmp_path / "backup")
        restored = await restore(settings, tmp_path / "backup", force=True)
        assert restored.ok, [*restored.problems, *restored.verified.problems]
        assert restored.verified.chains.events == manifest.log.events


async def test_a_backup_refuses_to_overwrite_and_leaves_nothing_when_it_fails(
        running: Runtime, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(ConfigurationError, match="already exists"):
        await back_up(running.settings, tmp_path / "taken")
    broken = Settings(**{**running.settings.__dict__,
                         "database_url": running.settings.database_url + "_absent"})
    with pytest.raises(ConfigurationError):
        await back_up(broken, tmp_path / "never")
    assert not [name for name in os.listdir(tmp_path) if "never" in name]  # no temporary


async def test_the_manifest_states_the_snapshot_it_describes(running: Runtime,
                                                             tmp_path: Path) -> None:
    await sequence(running)
    latest = await running.log.latest_checkpoint()
    manifest = await back_up(running.settings, tmp_path / "backup")
    doc = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert latest is not None and doc["log"]["checkpoint"] == latest.note.decode()
    assert doc["log"]["size"] == latest.size == manifest.log.size
    assert doc["log"]["events"] == await running.store.count_events()
    assert doc["format_version"] == 1 and doc["log"]["origin"] == running.settings.log_origin


async def test_verify_since_checkpoint_names_a_history_the_log_does_not_hold(
        running: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A checkpoint the log's own key signed over another tree of 5 entries: what a restore
    # into the wrong database, or a log that forked, meets.
    signers = load_signers(running.settings.key_dir, running.settings.log_origin)
    other = Checkpoint(running.settings.log_origin, 5, hashlib.sha256(b"another").digest())
    (tmp_path / "other").write_bytes(sign_note(format_checkpoint(other), signers))
    (tmp_path / "ours").write_bytes((await running.log.latest_checkpoint() or _absent()).note)
    settings = running.settings
    for name, code in (("ours", 0), ("other", 1)):
        args = build_parser().parse_args(["verify", "--skip-files", "--since-checkpoint",
                                          str(tmp_path / name)])
        assert await args.run(args, settings) == code
    lines = capsys.readouterr().out.splitlines()
    assert "extends the published checkpoint" in lines[1]
    assert lines[-1].startswith("DIFFERENT HISTORY: the histories differ within the first 5 "
                                "entries")
    assert base64.b64encode(other.root_hash).decode() in lines[-1]


def _absent() -> StoredCheckpoint:
    raise AssertionError("the log has no checkpoint")


async def test_a_backup_of_a_ledger_missing_a_cited_file_names_it_and_its_restore_fails(
        running: Runtime, kind: str, tmp_path: Path) -> None:
    rows = await running.store.read_for_audit(0, 100_000)
    cited = sorted(cited_files(r for r in rows if r[5] in FILE_EVENTS))
    assert cited
    await delete_blob(running.blobs, running.settings.database_url, cited[0])
    manifest = await back_up(running.settings, tmp_path / "backup")
    assert manifest.missing_files == (cited[0],)
    async with target_database(kind, tmp_path / "restored") as url:
        restored = await restore(_target(url, tmp_path / "restored", running),
                                 tmp_path / "backup")
    assert not restored.ok
    assert restored.verified.files is not None
    assert {str(p).split(" is missing")[0] for p in restored.verified.files.problems} == {
        f"evidence file {cited[0]}"}


async def test_a_backup_is_not_trusted_to_define_code_only_its_ledger_rows_are_restored(
        pg_dsn: str, tmp_path: Path) -> None:
    """A dump that carries a function, a table and a constraint of someone else's (here one
    that would refuse every row anywhere but in the source) restores the ledger's rows into
    the ledger's own schema and none of those: no code of the backup runs in the target."""
    runtime = await bootstrap(settings_for(pg_dsn, tmp_path / "source"))
    try:
        await play_seeds(runtime)
        conn = await asyncpg.connect(pg_dsn)
        try:
            source = await conn.fetchval("SELECT current_database()")
            await conn.execute(f"""
                CREATE FUNCTION zz_planted(x int) RETURNS bool LANGUAGE plpgsql AS $$
                BEGIN
                    IF current_database() <> '{source}' THEN
                        RAISE EXCEPTION 'code from the backup ran in %', current_database();
                    END IF;
                    RETURN true;
                END $$;
                CREATE TABLE zz_planted_rows (x int CHECK (zz_planted(x)));
                INSERT INTO zz_planted_rows VALUES (1);
                ALTER TABLE principals ADD CONSTRAINT zz_planted_check CHECK (zz_planted(1));
            """)
        finally:
            await conn.close()
        await back_up(runtime.settings, tmp_path / "backup")
        async with target_database("postgres", tmp_path / "restored") as url:
            restored = await restore(_target(url, tmp_path / "restored", runtime),
                                     tmp_path / "backup")
            assert restored.ok, [*restored.problems, *restored.verified.problems]
            conn = await asyncpg.connect(url)
            try:
                assert await conn.fetchval(
                    "SELECT count(*) FROM pg_proc WHERE proname = 'zz_planted'") == 0
                assert await conn.fetchval("SELECT to_regclass('zz_planted_rows')") is None
                assert await conn.fetchval(
                    "SELECT count(*) FROM pg_constraint WHERE conname = 'zz_planted_check'") == 0
                assert await conn.fetchval("SELECT count(*) FROM events") == \
                    await runtime.store.count_events()
            finally:
                await conn.close()
    finally:
        await runtime.close()


@contextlib.contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _modes(database: Path) -> dict[str, int]:
    """The permission bits of an SQLite database and its WAL and shared-memory files."""
    return {p.name: stat.S_IMODE(p.stat().st_mode)
            for p in (database, database.with_name(database.name + "-wal"),
                      database.with_name(database.name + "-shm")) if p.exists()}


async def test_an_sqlite_ledger_and_its_restore_are_readable_by_their_owner_only(
        tmp_path: Path) -> None:
    # The database holds webhook signing secrets and every case's personal data: under the
    # usual umask (022) another local user must still not read it, nor its WAL (the backup
    # of it is 0600 already).
    with _umask(0o022):
        source = tmp_path / "source" / "ledger.db"
        runtime = await bootstrap(settings_for(f"sqlite:///{source}", tmp_path / "source"))
        try:
            await append_events(runtime, 3)
            assert set(_modes(source)) >= {"ledger.db", "ledger.db-wal"}
            assert set(_modes(source).values()) == {0o600}, _modes(source)
            await back_up(runtime.settings, tmp_path / "backup")
        finally:
            await runtime.close()
        restored = tmp_path / "restored" / "ledger.db"
        settings = Settings(**{**settings_for(f"sqlite:///{restored}",
                                              tmp_path / "restored").__dict__,
                               "key_dir": runtime.settings.key_dir})
        assert (await restore(settings, tmp_path / "backup")).ok
        assert set(_modes(restored).values()) == {0o600}, _modes(restored)
        # A database made before this rule (0644) is made private when next opened.
        for path in (source, source.with_name("ledger.db-wal")):
            if path.exists():
                path.chmod(0o644)
        reopened = await bootstrap(settings_for(f"sqlite:///{source}", tmp_path / "source"),
                                   migrate=False, sequencer=False)
        try:
            assert set(_modes(source).values()) == {0o600}, _modes(source)
        finally:
            await reopened.close()
