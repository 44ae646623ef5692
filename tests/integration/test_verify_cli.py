"""``ledger verify`` end to end on a real SQLite ledger: the seed scenarios, sequenced and
signed, verify at both depths; a tampered row fails with its exact location."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from ledger import verify as verify_module
from ledger.cli import main
from ledger.demo_scenarios import play_all
from ledger.service.ledger import Ledger
from ledger.settings import DEFAULT_LOG_ORIGIN
from ledger.store.blob_fs import FilesystemBlobStore
from ledger.store.factory import log_store_for
from ledger.store.sqlite import SQLiteEventStore
from ledger.transparency.keys import load_signers
from ledger.transparency.sequencer import Sequencer
from tests.conftest import drain
from tests.integration.operator import SQLiteOperator


@pytest.fixture
async def ledger_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder holding the seed scenarios, fully sequenced under a fresh key."""
    monkeypatch.chdir(tmp_path)
    for name in ("LEDGER_DATABASE_URL", "LEDGER_DATA_DIR", "LEDGER_KEY_DIR",
                 "LEDGER_LOG_ORIGIN"):
        monkeypatch.delenv(name, raising=False)
    assert await asyncio.to_thread(main, ["keygen"]) == 0
    store = await SQLiteEventStore.connect(tmp_path / "ledger-data" / "ledger.db")
    try:
        await store.migrate()
        await play_all(Ledger(store), dt.date(2026, 11, 24),
                       FilesystemBlobStore(tmp_path / "ledger-data" / "blobs"))
        sequencer = Sequencer(log_store_for(store),
                              load_signers(tmp_path / "ledger-data" / "keys", DEFAULT_LOG_ORIGIN),
                              DEFAULT_LOG_ORIGIN)
        await drain(sequencer)
    finally:
        await store.close()
    return tmp_path / "ledger-data"


@pytest.mark.parametrize("depth", [[], ["--strict"]])
@pytest.mark.parametrize("worker_from", [50_000, 0], ids=["here", "child"])
async def test_verify_passes_at_both_depths(
        ledger_dir: Path, depth: list[str], worker_from: int,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify_module, "WORKER_FROM", worker_from)
    assert await asyncio.to_thread(main, ["verify", *depth]) == 0
    captured = capsys.readouterr()
    assert "note:" not in captured.err  # the child, when asked for, did the tree
    out = captured.out
    assert "OK: " in out and "every hash and chain link verified" in out
    assert ("every entry parsed: canonical, fixed envelope" in out) == bool(depth)
    assert "(0 queued) matches its tiles and 1 signed checkpoint(s)" in out


@pytest.mark.parametrize("depth", [[], ["--strict"]])
async def test_verify_names_a_flipped_byte_at_both_depths(
        ledger_dir: Path, depth: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    store = await SQLiteEventStore.connect(ledger_dir / "ledger.db")
    try:
        victim = (await store.read_all(after=10, limit=1))[0]
    finally:
        await store.close()
    tampered = bytearray(victim.entry)
    tampered[-3] ^= 0x01  # inside the version number
    operator = SQLiteOperator(ledger_dir / "ledger.db")
    await operator.disable_guards()
    await operator.set_row(victim.position, bytes(tampered), victim.event_hash)
    assert await asyncio.to_thread(main, ["verify", *depth]) == 1
    out = capsys.readouterr().out
    assert (f"TAMPERED: stream {victim.stream_id} version {victim.version} "
            f"(event {victim.event_id}): entry bytes hash to") in out
    assert "FAILED: " in out


async def test_verify_with_the_service_own_key_passes_exactly_as_with_the_folder(
        ledger_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    own = next((ledger_dir / "keys").glob("*.vkey")).read_text(encoding="ascii").strip()
    assert await asyncio.to_thread(main, ["verify"]) == 0
    with_folder = capsys.readouterr().out
    assert await asyncio.to_thread(main, ["verify", "--key", own, "--key", own]) == 0
    with_key = capsys.readouterr().out
    assert "ambiguous" not in with_key and "TAMPERED" not in with_key
    assert with_key == with_folder
    key_file = str(next((ledger_dir / "keys").glob("*.vkey")))  # the file itself will do
    assert await asyncio.to_thread(main, ["verify", "--key", key_file]) == 0
    assert capsys.readouterr().out == with_folder


async def test_verify_with_the_service_own_key_still_finds_tampering(
        ledger_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    own = next((ledger_dir / "keys").glob("*.vkey")).read_text(encoding="ascii").strip()
    store = await SQLiteEventStore.connect(ledger_dir / "ledger.db")
    try:
        victim = (await store.read_all(after=3, limit=1))[0]
    finally:
        await store.close()
    tampered = bytearray(victim.entry)
    tampered[-3] ^= 0x01
    operator = SQLiteOperator(ledger_dir / "ledger.db")
    await operator.disable_guards()
    await operator.set_row(victim.position, bytes(tampered), victim.event_hash)
    assert await asyncio.to_thread(main, ["verify", "--key", own]) == 1
    out = capsys.readouterr().out
    assert f"TAMPERED: stream {victim.stream_id} version {victim.version}" in out
    assert "ambiguous" not in out


async def test_verify_without_any_verifier_key_says_so_not_tampered(
        ledger_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vkey = next((ledger_dir / "keys").glob("*.vkey"))
    own = vkey.read_text(encoding="ascii").strip()
    moved = ledger_dir.parent / vkey.name
    vkey.rename(moved)  # a restore without keys: the folder holds none
    assert await asyncio.to_thread(main, ["verify"]) == 2
    captured = capsys.readouterr()
    assert "TAMPERED" not in captured.out
    assert "no verifier key" in captured.err and "--key" in captured.err
    assert await asyncio.to_thread(main, ["verify", "--key", own]) == 0
    assert "OK: " in capsys.readouterr().out


async def test_verify_with_another_log_s_key_names_the_keys(
        ledger_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ledger.tlog.note import generate_key

    _, other = generate_key(DEFAULT_LOG_ORIGIN)
    for vkey in (ledger_dir / "keys").glob("*.vkey"):
        vkey.unlink()
    assert await asyncio.to_thread(main, ["verify", "--key", other]) == 1
    out = capsys.readouterr().out
    assert "note has no verifiable signatures (signed by " in out
    assert "trusted keys: " in out
