"""Files the witness and the auditor keep are written durably (ledger.durable): the data is
fsynced in a temporary file of the same folder before its name appears, then the folder is
fsynced; a key file is 0600 from creation, never overwritten, and a crash's leftover
temporary file is neither used nor in the way. ``os.fsync`` is observed (it still runs), to
see what was fsynced and in which order."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from ledger.durable import write_durably
from ledger.witness.state import WitnessState, ensure_witness_key

Synced = list[tuple[str, bool]]


def _observe(monkeypatch: pytest.MonkeyPatch, watched: Path) -> Synced:
    """(what each fsync'd descriptor names, whether ``watched`` existed then), in order."""
    synced: Synced = []
    real: Callable[[int], None] = os.fsync

    def fsync(fd: int) -> None:
        synced.append((os.readlink(f"/proc/self/fd/{fd}"), watched.exists()))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


def _durable(synced: Synced, path: Path) -> None:
    """The data was fsynced under another name of the folder before ``path`` appeared, and
    the folder after it did."""
    first, last = synced[0], synced[-1]
    assert Path(first[0]).parent == path.parent and first[0] != str(path) and not first[1]
    assert last == (str(path.parent), True)


def test_the_witness_key_is_fsynced_before_its_name_appears_then_its_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "keys" / "witness.key"
    synced = _observe(monkeypatch, path)
    ensure_witness_key(path, "w.example/1")
    _durable(synced, path)
    assert (path.stat().st_mode & 0o777) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["witness.key"]


def test_a_key_is_never_overwritten_and_a_crash_leftover_is_not_in_the_way(
        tmp_path: Path) -> None:
    leftover = tmp_path / ".witness.key.abc123.tmp"  # a crash between write and link
    leftover.write_bytes(b"PRIVATE+KEY+half")
    path = tmp_path / "witness.key"
    signer, created = ensure_witness_key(path, "w.example/1")
    assert created and path.read_text().startswith("PRIVATE+KEY+w.example/1+")
    with pytest.raises(FileExistsError):
        write_durably(path, b"another key\n", overwrite=False)
    assert ensure_witness_key(path, "w.example/1")[0].key == signer.key
    assert sorted(p.name for p in tmp_path.iterdir()) == [leftover.name, "witness.key"]


def test_a_new_witness_state_file_has_its_folder_fsynced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state" / "witness.db"
    synced = _observe(monkeypatch, path)
    WitnessState(path).close()
    assert (str(path.parent), True) in synced


def test_a_replaced_file_is_whole_and_its_folder_fsynced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "audit.json"
    path.write_text("old\n")
    synced = _observe(monkeypatch, path)
    write_durably(path, b"new\n", mode=0o644)
    assert path.read_bytes() == b"new\n" and (path.stat().st_mode & 0o777) == 0o644
    assert synced[0][0] != str(path) and synced[-1] == (str(path.parent), True)
