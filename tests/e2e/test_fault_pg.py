"""PostgreSQL restarted under load, on a cluster of the test's own (never the machine's shared
server): while it is away every request gets 503 with ``Retry-After``, the service recovers
by itself without a restart, and nothing acknowledged is lost or doubled (``ledger verify``,
the board against a rebuild). The short version of scripts/fault_pg.py
(tests/support/pg_restart_run.py); and, with the database stopped, every store the service
reads on a request answers the PushbackError that becomes that 503. And the database hung
(every process SIGSTOPped, as a network partition looks): requests get 503 within the
LEDGER_DB_*_TIMEOUT_SECONDS instead of waiting for it, and the service recovers at the thaw
(tests/support/pg_freeze_run.py)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.bootstrap import open_storage
from ledger.errors import PushbackError
from ledger.principals import Principal
from ledger.settings import Settings
from ledger.store.factory import session_store_for
from tests.support import pg_freeze_run
from tests.support.pg_restart_run import describe, restart_run
from tests.support.private_cluster import PrivateCluster, make_cluster
from tests.support.streaming_replica import server_programs

pytestmark = pytest.mark.xdist_group("private-cluster")  # one cluster per run


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    programs = server_programs()
    if programs is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL's server programs (initdb, pg_ctl) are required in CI")
        pytest.skip("PostgreSQL's server programs are not installed")
    made = make_cluster(programs)
    try:
        yield made
    finally:
        made.remove()


async def test_a_restarted_database_gets_503_then_the_service_recovers_losing_nothing(
        cluster: PrivateCluster, tmp_path: Path) -> None:
    report = await restart_run(cluster, tmp_path, rounds=1, every=1.0, hold=1.2, clients=4)
    figures = "\n".join(describe(report))
    print(figures)
    assert report.server_survived, figures
    assert not report.findings.problems(), figures
    assert report.acknowledged > 50 and report.given_up == 0, figures
    assert report.tally.without_retry_after == 0, figures
    for outage in report.outages:
        # the database away: 503 (with Retry-After) and nothing else, neither a 500 nor a
        # connection the service dropped
        assert set(outage.answers) <= {"503", "GET 503"}, figures
        assert outage.recovered_after is not None and outage.recovered_after < 5, figures

    # the sequencer's back-off is capped at 5 s (a second once a command commits): the log
    # resumes, and with it readiness (which holds the sequencer's lag), soon after. Both are
    # watched up to the next outage, a second later here: only the last one's window is sure
    # to be long enough.
    last = report.outages[-1]
    assert last.logging_after is not None and last.logging_after < 8, figures
    assert last.ready_after is not None and last.ready_after < 10, figures
    held = next(o for o in report.outages if o.kind == "immediate stop")
    assert held.answers["503"] > 0 and held.readyz_503 > 0, figures


async def test_every_store_a_request_reads_answers_pushback_while_the_database_is_down(
        cluster: PrivateCluster, tmp_path: Path) -> None:
    import asyncpg

    admin = await asyncpg.connect(cluster.dsn())
    await admin.execute('CREATE DATABASE "stores_down"')
    await admin.close()
    storage = await open_storage(Settings(database_url=cluster.dsn("stores_down"),
                                          data_dir=tmp_path), migrate=True)
    sessions = session_store_for(storage.store)
    token_hash = hashlib.sha256(b"a token").digest()
    await storage.principals.add_principal(Principal("hr.sun", "孙 HR", ("hr",)))
    await storage.principals.add_token(token_hash, "hr.sun", "test")
    try:
        await asyncio.to_thread(cluster.stop, "immediate")
        reads = {
            "token": storage.principals.principal_for_token(token_hash),
            "principal": storage.principals.get_principal("hr.sun"),
            "console session": sessions.delete_session(b"\x00" * 32),
            "events": storage.store.count_events(),
            "read models": storage.projections.states(),
            "webhooks": storage.webhooks.fetch("SELECT 1"),
            "files": storage.blobs.size_of("0" * 64),
            "log": storage.log.latest_checkpoint(),
        }
        for name, read in reads.items():
            with pytest.raises(PushbackError):
                await read
            print(f"{name}: PushbackError")
        await asyncio.to_thread(cluster.start)
        # the pool connects afresh: no restart of the service needed
        for _ in range(50):
            try:
                found = await storage.principals.principal_for_token(token_hash)
                break
            except PushbackError:
                await asyncio.sleep(0.1)
        assert found is not None and found.id == "hr.sun"
    finally:
        if not (cluster.data / "postmaster.pid").exists():
            await asyncio.to_thread(cluster.start)
        await storage.store.close()


async def test_a_hung_database_gets_503_within_the_timeouts_then_the_service_recovers(
        cluster: PrivateCluster, tmp_path: Path) -> None:
    report = await pg_freeze_run.freeze_run(cluster, tmp_path, hold=6.0, clients=4)
    figures = "\n".join(pg_freeze_run.describe(report))
    print(figures)
    # a request's wait: a pooled connection's statement (command), then the release that
    # waits for the cancel request (acquire); a margin for a loaded machine
    bound = pg_freeze_run.ACQUIRE + pg_freeze_run.COMMAND + 2.0
    assert report.processes >= 3, figures  # the postmaster and its backends
    for name, probe in report.probes.items():
        assert probe.status == 503 and probe.seconds < bound, (name, figures)
        # a request's 503 says when to come back; readiness is polled anyway
        assert probe.retry_after or name == "readyz", (name, figures)
    # 503s (or a 2xx: a read answered from memory, a request sent shortly before the thaw),
    # none waiting for the thaw
    assert report.answers["POST 503"] and report.answers["GET 503"], figures
    assert not pg_freeze_run.unexpected(report), figures
    assert report.slowest < bound, figures
    assert report.tally.without_retry_after == 0, figures
    assert report.server_survived, figures
    assert not report.findings.problems(), figures
    assert report.given_up == 0, figures
    assert report.probe_acknowledged_after is not None, figures
    assert report.recovered_after is not None and report.recovered_after < 5, figures
    assert report.ready_after is not None and report.ready_after < 10, figures
    assert report.logging_after is not None and report.logging_after < 10, figures
