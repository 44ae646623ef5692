"""``ledger projections status`` and ``rebuild`` as an operator runs them, after ``ledger
demo``: the read models are behind the log until rebuilt, then at its end."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_demo_command import _ledger


def _behind(status: str, name: str) -> int:
    row = next(line for line in status.splitlines() if f" {name} " in f" {line} ")
    return int(row.replace("│", " ").split()[2])


def test_status_shows_the_lag_and_rebuild_brings_every_read_model_to_the_log(
        tmp_path: Path) -> None:
    assert _ledger("demo", data_dir=tmp_path).returncode == 0
    rebuilt = _ledger("projections", "rebuild", data_dir=tmp_path)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "board: rebuilt to log position" in rebuilt.stdout
    status = _ledger("projections", "status", data_dir=tmp_path)
    assert status.returncode == 0, status.stdout + status.stderr
    assert _behind(status.stdout, "board") == 0 and _behind(status.stdout, "webhooks") == 0
    assert _ledger("projections", "rebuild", "board", data_dir=tmp_path).returncode == 0
    states = _ledger("projections", "status", data_dir=tmp_path).stdout
    board = next(line for line in states.splitlines() if " board " in line)
    assert board.replace("│", " ").split()[3] == "3"  # the board's third generation serves
    unknown = _ledger("projections", "rebuild", "nothing", data_dir=tmp_path)
    assert unknown.returncode == 2 and "no read model 'nothing'" in unknown.stderr
