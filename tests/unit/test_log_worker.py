"""The log worker's pure edges: which databases a child can reach, and a malformed answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.transparency.log_worker import _read_answer, can_audit_in_child


def test_only_a_server_or_an_existing_sqlite_file_goes_to_a_child(tmp_path: Path) -> None:
    existing = tmp_path / "ledger.db"
    existing.write_bytes(b"")
    assert can_audit_in_child(f"sqlite:///{existing}")
    assert not can_audit_in_child(f"sqlite:///{tmp_path / 'missing.db'}")
    assert not can_audit_in_child("sqlite:///:memory:")
    assert can_audit_in_child("postgresql://ledger:secret@127.0.0.1/ledger")
    assert not can_audit_in_child("mysql://127.0.0.1/ledger")


@pytest.mark.parametrize("answer", [
    b"", b"not json\n", b'{"entries": 1, "size": 1, "checkpoints": 0, "problems": [], '
    b'"read_problems": []}\n' + b"\x00" * 8 + b"\x01" * 31,
])
def test_a_malformed_answer_is_an_os_error(answer: bytes) -> None:
    with pytest.raises(OSError, match="log worker answered malformed data"):
        _read_answer(answer)
