"""The backup manifest's signature (ledger.backup.signature) on both stores: a backup is
signed with the log's key, and a restore checks it with keys it trusts before it reads a
part: an altered manifest, an altered or removed signature, or a signature by another key is
refused, naming what is wrong, and nothing is restored."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ledger.backup.backup import back_up
from ledger.backup.folder import read_signature_bytes
from ledger.backup.manifest import MANIFEST
from ledger.backup.restore import restore
from ledger.backup.signature import SIGNATURE, signature_text
from ledger.bootstrap import bootstrap
from ledger.cli import build_parser
from ledger.errors import ConfigurationError, VerificationError
from ledger.runtime import Runtime
from ledger.settings import Settings
from ledger.tlog.note import generate_key, open_note
from ledger.transparency.keys import load_verifiers
from tests.integration.http_fixtures import postgres_database
from tests.support.backup import ORIGIN, append_events, settings_for


@pytest.fixture(params=["sqlite", "postgres"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def source_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'source' / 'ledger.db'}"
    return str(request.getfixturevalue("pg_dsn"))


@pytest.fixture
async def running(source_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    url = source_url
    runtime = await bootstrap(settings_for(url, tmp_path / "source"))
    try:
        await append_events(runtime, 5)
        yield runtime
    finally:
        await runtime.close()


@contextlib.asynccontextmanager
async def target(kind: str, folder: Path, running: Runtime,
                 key_dir: Path | None = None) -> AsyncIterator[Settings]:
    """Settings for an empty database to restore into, with the source's keys (or
    ``key_dir``)."""
    async with contextlib.AsyncExitStack() as stack:
        url = (f"sqlite:///{folder / 'ledger.db'}" if kind == "sqlite"
               else await stack.enter_async_context(postgres_database()))
        settings = settings_for(url, folder)
        yield Settings(**{**settings.__dict__,
                          "key_dir": key_dir or running.settings.key_dir})


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def _restored_nothing(kind: str, folder: Path) -> bool:
    return kind != "sqlite" or not (folder / "ledger.db").exists()


async def test_a_backup_s_manifest_is_signed_with_the_log_s_key(
        running: Runtime, tmp_path: Path) -> None:
    await back_up(running.settings, tmp_path / "backup")
    note = (tmp_path / "backup" / SIGNATURE).read_bytes()
    opened = open_note(note, load_verifiers(running.settings.key_dir))
    assert opened.text == signature_text((tmp_path / "backup" / MANIFEST).read_bytes())
    assert [s.name for s in opened.signatures] == [ORIGIN]


async def test_an_altered_manifest_or_signature_or_another_key_is_refused(
        running: Runtime, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    backup = tmp_path / "backup"
    await back_up(running.settings, backup)
    manifest, signature = (backup / MANIFEST).read_bytes(), (backup / SIGNATURE).read_bytes()
    restored_to = tmp_path / "restored"
    async with target(kind, restored_to, running) as settings:
        _flip(backup / MANIFEST, manifest.index(b'"events"') + 10)  # the event count
        with pytest.raises(VerificationError, match=r"over another manifest: manifest\.json "
                                                    r"was altered"):
            await restore(settings, backup)
        (backup / MANIFEST).write_bytes(manifest)
        _flip(backup / SIGNATURE, len(signature) - 10)  # inside the signature's base64
        with pytest.raises(VerificationError, match="manifest signature does not verify"):
            await restore(settings, backup)
        (backup / SIGNATURE).write_bytes(signature)
        # Only keys the restore trusts count: another log's key, given as the one to trust,
        # does not verify it (and the backup's own listed keys are not asked).
        other = tmp_path / "other-keys"
        other.mkdir()
        (other / "other.vkey").write_text(generate_key(ORIGIN)[1])
        async with target(kind, tmp_path / "elsewhere", running, key_dir=other) as elsewhere:
            with pytest.raises(VerificationError, match="does not verify with the trusted key"):
                await restore(elsewhere, backup)
        (backup / SIGNATURE).unlink()
        with pytest.raises(VerificationError, match="has no manifest signature"):
            await restore(settings, backup)
        assert _restored_nothing(kind, restored_to)
        # A backup made before manifests were signed restores only when asked, and says so.
        args = build_parser().parse_args(["restore", str(backup), "--allow-unsigned"])
        assert await args.run(args, settings) == 0
    printed = capsys.readouterr()
    assert "WARNING: --allow-unsigned: the backup has no manifest signature" in printed.err
    assert "Verified: every hash" in printed.out


async def test_a_signature_is_never_checked_with_the_keys_the_backup_lists(
        running: Runtime, kind: str, tmp_path: Path) -> None:
    await back_up(running.settings, tmp_path / "backup")
    empty = tmp_path / "no-keys"
    async with target(kind, tmp_path / "restored", running, key_dir=empty) as settings:
        with pytest.raises(ConfigurationError, match="Pass the log's published verifier key"):
            await restore(settings, tmp_path / "backup")
        vkey = next(running.settings.key_dir.glob("*.vkey")).read_text().strip()
        restored = await restore(settings, tmp_path / "backup", trusted_keys=(vkey,))
        assert restored.ok and restored.unsigned is None and not restored.keys_from_backup


@pytest.mark.parametrize("odd", ["symlink", "folder"])
def test_a_signature_that_is_no_plain_file_is_refused_not_taken_for_none(
        tmp_path: Path, odd: str) -> None:
    # Found by probing: a manifest.signature made a symbolic link or a folder was reported as
    # "no manifest signature", which --allow-unsigned restores.
    (tmp_path / "elsewhere").write_text("a note")
    if odd == "symlink":
        (tmp_path / SIGNATURE).symlink_to(tmp_path / "elsewhere")
    else:
        (tmp_path / SIGNATURE).mkdir()
    with pytest.raises(VerificationError, match="is not a plain file"):
        read_signature_bytes(tmp_path)
    if odd == "symlink":
        (tmp_path / SIGNATURE).unlink()
    else:
        (tmp_path / SIGNATURE).rmdir()
    assert read_signature_bytes(tmp_path) is None
