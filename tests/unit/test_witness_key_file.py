"""The witness key file: made once with mode 0600, reused, refused when others can read it,
when it belongs to another witness name, or when it holds a log key (type 0x01)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ledger.errors import ConfigurationError
from ledger.tlog.note import generate_key
from ledger.witness.state import ensure_witness_key


def test_made_once_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "witness.key"
    signer, created = ensure_witness_key(path, "w.example/1")
    assert created and (path.stat().st_mode & 0o777) == 0o600
    again, created = ensure_witness_key(path, "w.example/1")
    assert not created and again.key == signer.key


def test_refusals(tmp_path: Path) -> None:
    path = tmp_path / "witness.key"
    ensure_witness_key(path, "w.example/1")
    with pytest.raises(ConfigurationError, match=r"not 'w\.example/2'"):
        ensure_witness_key(path, "w.example/2")
    os.chmod(path, 0o644)
    with pytest.raises(ConfigurationError, match="readable by others"):
        ensure_witness_key(path, "w.example/1")
    log_key = tmp_path / "log.key"
    log_key.write_text(generate_key("w.example/1")[0] + "\n")
    os.chmod(log_key, 0o600)
    with pytest.raises(ConfigurationError, match="type or key ID"):
        ensure_witness_key(log_key, "w.example/1")
