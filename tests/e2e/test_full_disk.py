"""A full disk under a real ``ledger serve`` (issue 13's fault tests; the longer run is
scripts/full_disk.py): its data folder on a small filesystem of its own, filled part way
through an upload. The client gets a 507 problem with Retry-After, no event cites the file,
nothing of it is left in the blob store, the next upload once space returns succeeds, and
``ledger verify`` passes; on both blob stores (tests/support/full_disk.py has the steps)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.full_disk import run_full_disk
from tests.support.small_disk import why_no_small_disk


@pytest.fixture(scope="module")
def small_disk_allowed() -> None:
    """Skip where no process may mount a tmpfs of its own (fail in CI, where it must run)."""
    reason = why_no_small_disk()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a small filesystem: {reason}")
        pytest.skip(f"cannot mount a small filesystem: {reason}")


@pytest.mark.usefixtures("small_disk_allowed")
async def test_a_full_disk_refuses_an_upload_with_507_and_keeps_nothing_of_it_on_sqlite(
        tmp_path: Path) -> None:
    found = await run_full_disk("sqlite", tmp_path, "")
    assert found.problems == [], found.problems
    statuses = [(a.step, a.status) for a in found.answers]
    assert statuses == [("first upload", 201), ("upload on a full disk", 507),
                        ("comment on a full disk", 507), ("upload once space returns", 201)]
    assert len(found.uploaded) == 2  # the first file and the one stored once space returned
    assert found.verify_exit == 0


@pytest.mark.usefixtures("small_disk_allowed")
async def test_a_full_spool_or_database_refuses_an_upload_with_507_on_postgresql(
        pg_dsn: str, tmp_path: Path) -> None:
    found = await run_full_disk("postgres", tmp_path, pg_dsn)
    assert found.problems == [], found.problems
    statuses = [(a.step, a.status) for a in found.answers]
    assert statuses == [("first upload", 201), ("upload on a full disk", 507),
                        ("comment on a full disk", 201), ("upload once space returns", 201),
                        ("upload on a full database", 507),
                        ("upload once the database has room", 201)]
    assert len(found.uploaded) == 3
    assert found.verify_exit == 0
