"""``ledger backup``, ``ledger restore`` and ``ledger verify --since-checkpoint`` as an
operator runs them, on both stores: a backup of a served ledger (the service keeps running
and writing), restored into a fresh database, proves with the checkpoint the service published
before the backup that nothing was lost, and, with a checkpoint published after it, says how
many acknowledged entries the restore lost."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.conftest import PG_ADMIN_DSN

ROOT = Path(__file__).resolve().parents[2]


def _env(data_dir: Path, database: str, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    return {**env, "PYTHONPATH": str(ROOT), "LEDGER_DATA_DIR": str(data_dir),
            "LEDGER_DATABASE_URL": database, **more}


def _ledger(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ledger.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def scratch_databases(kind: str, tmp_path: Path) -> Iterator[list[str]]:
    """Two fresh databases (the source, the restore target), dropped afterwards."""
    if kind == "sqlite":
        yield [f"sqlite:///{tmp_path / name / 'ledger.db'}" for name in ("source", "target")]
        return
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not answering at {PG_ADMIN_DSN} (required in CI)")
        pytest.skip("PostgreSQL is not answering")
    names = [f"ledger_backup_{uuid.uuid4().hex[:10]}_{n}" for n in ("source", "target")]
    with admin:
        for name in names:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield [PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + name for name in names]
        finally:
            for name in names:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)))


@pytest.fixture(params=["sqlite", "postgres"])
def kind(request: pytest.FixtureRequest) -> str:
    """Which store the ledger runs on."""
    return str(request.param)


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, "-m", "ledger.cli", "serve", "--port", "0"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    lines = []
    while time.monotonic() < deadline and (line := process.stdout.readline()):
        lines.append(line)
        if served := re.search(r"serving on (http://127\.0\.0\.1:\d+) ", line):
            return process, served.group(1)
    process.kill()
    raise AssertionError(f"the service did not start: {''.join(lines)}")


def _checkpoint(base: str, larger_than: int = -1) -> bytes:
    """/log/checkpoint once its size exceeds ``larger_than`` (the sequencer signs it)."""
    deadline = time.monotonic() + 60
    while True:
        with urllib.request.urlopen(f"{base}/log/checkpoint", timeout=10) as response:  # noqa: S310
            note: bytes = response.read()
        if int(note.split(b"\n")[1]) > larger_than or time.monotonic() > deadline:
            return note


def test_a_served_ledger_backed_up_and_restored_proves_what_it_kept_and_what_it_lost(
        kind: str, scratch_databases: list[str], tmp_path: Path) -> None:
    source_url, target_url = scratch_databases
    source = _env(tmp_path / "source", source_url)
    assert _ledger("demo", env=source).returncode == 0
    server, base = _serve(source)
    try:
        before = _checkpoint(base)
        (tmp_path / "before.checkpoint").write_bytes(before)
        backup = _ledger("backup", str(tmp_path / "backup"), env=source)
        assert backup.returncode == 0, backup.stderr
        assert "signing keys not included" in backup.stdout
        played = _ledger("demo", env=source)  # the ledger goes on: more events, evidence
        assert played.returncode == 0, played.stderr
        after = _checkpoint(base, larger_than=int(before.split(b"\n")[1]))
        (tmp_path / "after.checkpoint").write_bytes(after)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    # The restored service runs with the same keys (mounted, never in the backup).
    target = _env(tmp_path / "target", target_url,
                  LEDGER_KEY_DIR=str(tmp_path / "source" / "keys"))
    restored = _ledger("restore", str(tmp_path / "backup"), env=target)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert re.search(r"restored .* \d+ events in \d+ streams", restored.stdout)
    kept = _ledger("verify", "--since-checkpoint", str(tmp_path / "before.checkpoint"),
                   env=target)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "extends the published checkpoint" in kept.stdout
    lost = _ledger("verify", "--since-checkpoint", str(tmp_path / "after.checkpoint"),
                   env=target)
    missing = int(after.split(b"\n")[1]) - int(backup.stdout.split("log of ")[1].split()[0])
    assert lost.returncode == 1, lost.stdout + lost.stderr
    assert f"{missing} acknowledged entries are missing" in lost.stdout
    # A checkpoint whose text was altered (a larger size claimed) is no proof of anything.
    forged = after.replace(after.split(b"\n")[1], b"999999", 1)
    (tmp_path / "forged.checkpoint").write_bytes(forged)
    refused = _ledger("verify", "--skip-files", "--since-checkpoint",
                      str(tmp_path / "forged.checkpoint"), env=target)
    assert refused.returncode == 1
    assert "does not verify with the log's keys" in refused.stdout
    again = _ledger("restore", str(tmp_path / "backup"), env=target)
    assert again.returncode == 2 and "is not empty" in again.stderr


def test_a_restore_into_the_database_a_service_is_serving_is_refused(
        kind: str, scratch_databases: list[str], tmp_path: Path) -> None:
    # Restored under a running service, its caches and sequencer keep the newer state: its next
    # writes broke a stream's chain and it signed a smaller log than it had published (a fork).
    source_url, _ = scratch_databases
    source = _env(tmp_path / "source", source_url)
    assert _ledger("demo", env=source).returncode == 0
    server, base = _serve(source)
    try:
        before = _checkpoint(base)
        backup = _ledger("backup", str(tmp_path / "backup"), env=source)
        assert backup.returncode == 0, backup.stderr
        assert _ledger("demo", env=source).returncode == 0  # the log grows past the backup
        grown = _checkpoint(base, larger_than=int(before.split(b"\n")[1]))
        restored = _ledger("restore", "--force", str(tmp_path / "backup"), env=source)
        assert restored.returncode == 2, restored.stdout + restored.stderr
        assert "is serving" in restored.stderr and "stop it" in restored.stderr, restored.stderr
        # Nothing was restored: the served log is whole and as large as it was.
        assert int(_checkpoint(base).split(b"\n")[1]) == int(grown.split(b"\n")[1])
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    verified = _ledger("verify", "--skip-files", env=source)
    assert verified.returncode == 0, verified.stdout + verified.stderr
