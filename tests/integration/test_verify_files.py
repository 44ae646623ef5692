"""``ledger verify`` checks every uploaded evidence file, on SQLite (files on disk) and on
PostgreSQL (chunk rows): a file changed or deleted behind the ledger's back is reported with
the item and the event that recorded its upload; ``--skip-files`` skips the check."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import NamedTuple

import pytest

from ledger.bootstrap import bootstrap
from ledger.cli import main
from ledger.demo_scenarios import play_all
from ledger.runtime import Runtime
from ledger.settings import Settings
from ledger.verify_files import FILE_EVENTS
from tests.conftest import TEST_ORIGIN, drain
from tests.support.blob_tamper import change_blob, delete_blob


class Upload(NamedTuple):
    item_id: str
    event_id: str
    sha256: str


class Played(NamedTuple):
    database_url: str
    data_dir: Path
    uploads: list[Upload]
    cited: list[str]  # the digest of every file any event cites (the resignation letter too)


@pytest.fixture
async def played(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Played:
    """The seed scenarios (which upload real files), sequenced and signed; the environment
    points ``ledger`` at them."""
    data_dir, url = tmp_path / "ledger-data", database_url
    for name in ("LEDGER_DATABASE_URL", "LEDGER_KEY_DIR", "LEDGER_BLOB_STORE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LEDGER_DATA_DIR", str(data_dir))
    monkeypatch.setenv("LEDGER_LOG_ORIGIN", TEST_ORIGIN)
    runtime = await bootstrap(Settings(database_url=url, data_dir=data_dir,
                                          log_origin=TEST_ORIGIN, key_dir=data_dir / "keys"))
    try:
        await play_all(runtime.ledger, dt.date(2026, 11, 24), runtime.blobs,
                       runtime.principals)
        await drain(runtime.sequencer)
        uploads = await _uploads(runtime)
        cited = await _cited(runtime)
    finally:
        await runtime.close()
    assert len(uploads) > 10
    return Played(url, data_dir, uploads, cited)


async def _uploads(runtime: Runtime) -> list[Upload]:
    found = []
    async for row in runtime.store.iterate_all():
        if row.event_type == "ItemEvidenceUploaded":
            payload = json.loads(row.entry)["payload"]
            found.append(Upload(str(row.stream_id), str(row.event_id), payload["sha256"]))
    return found


async def _cited(runtime: Runtime) -> list[str]:
    found = []
    async for row in runtime.store.iterate_all():
        if row.event_type in FILE_EVENTS:
            payload = json.loads(row.entry)["payload"]
            field_name = FILE_EVENTS[row.event_type]
            found.append(str((payload[field_name] if field_name else payload)["sha256"]))
    return found


async def verify(played: Played, *options: str) -> int:
    return await asyncio.to_thread(main, ["--database", played.database_url, "verify",
                                          *options])


async def tamper(played: Played, how: str, sha256: str) -> None:
    from ledger.store.blob_factory import blob_store_for
    from ledger.store.factory import open_store

    store = await open_store(played.database_url)
    try:
        blobs = blob_store_for(store, None, played.data_dir)
        await (change_blob if how == "changed" else delete_blob)(blobs, played.database_url,
                                                                  sha256)
    finally:
        await store.close()


async def test_an_intact_ledger_verifies_every_uploaded_file(
        played: Played, capsys: pytest.CaptureFixture[str]) -> None:
    assert await verify(played) == 0

    out = capsys.readouterr().out
    files = len(set(played.cited))
    assert f"; {len(played.cited)} upload(s) of {files} distinct evidence file(s), every " \
           "file present and hashing to its name" in out


@pytest.mark.parametrize(("how", "message"), [
    ("changed", "is changed: its stored"), ("deleted", "is missing from the blob store")])
async def test_a_changed_or_deleted_file_is_reported_with_its_item_and_event(
        played: Played, how: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    victim = played.uploads[0]
    await tamper(played, how, victim.sha256)

    assert await verify(played) == 1

    out = capsys.readouterr().out
    reported = [line for line in out.splitlines() if line.startswith("TAMPERED: ")]
    expected = [u for u in played.uploads if u.sha256 == victim.sha256]
    assert len(reported) == len(expected)
    for upload in expected:
        assert any(f"evidence file {upload.sha256} {message}" in line
                   and f"uploaded to item {upload.item_id}, recorded by event "
                       f"{upload.event_id}" in line for line in reported), out
    assert f"FAILED: {len(expected)} problem(s)" in out


async def test_skip_files_makes_a_quick_run_that_says_it_did_not_look(
        played: Played, capsys: pytest.CaptureFixture[str]) -> None:
    await tamper(played, "deleted", played.uploads[-1].sha256)

    assert await verify(played, "--skip-files") == 0

    assert "evidence files not checked (--skip-files)" in capsys.readouterr().out


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("how", "message"), [
    ("folder", "cannot be read from the blob store (unreadable: IsADirectoryError)"),
    ("endless", "is changed: it holds more than the"),
    ("longer", "is changed: it holds more than the"),
])
async def test_a_planted_file_is_reported_and_never_hangs_or_crashes_the_audit(
        played: Played, how: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    from ledger.store.blob_fs import FilesystemBlobStore

    victim = played.uploads[0]
    path = FilesystemBlobStore(played.data_dir / "blobs").path_for(victim.sha256)
    assert path.exists()
    if how == "longer":
        path.write_bytes(path.read_bytes() + b"!")
    else:
        path.unlink()
        if how == "folder":
            path.mkdir()
        else:
            path.symlink_to("/dev/zero")

    assert await asyncio.wait_for(verify(played), timeout=60) == 1

    out = capsys.readouterr().out
    assert f"evidence file {victim.sha256} {message}" in out, out
    assert f"recorded by event {victim.event_id}" in out
