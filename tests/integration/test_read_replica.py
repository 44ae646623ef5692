"""Reads on a real PostgreSQL streaming replica (LEDGER_READ_DATABASE_URL): boards and log
reads of GET requests are served by the replica; a client that sends back the
``Ledger-Read-After`` its write was answered with (or waits for an event) never reads older
state than its write, even from a replica that has stopped replaying; a replica that is down
costs nothing but speed, and ``/readyz`` says it is degraded.

The pair of clusters is made once per session (tests/support/streaming_replica.py): skipped
when PostgreSQL's server programs are not installed, except in CI, where that fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from ledger.bootstrap import bootstrap
from ledger.errors import ConfigurationError
from ledger.settings import Settings
from ledger.store.read_scope import PRIMARY, REPLICA, ReadScope, format_lsn, parse_lsn, reading
from tests.conftest import TEST_ORIGIN
from tests.integration.http_fixtures import Api, departure_body, serve
from tests.support.streaming_replica import StreamingPair, make_pair, server_programs

pytestmark = pytest.mark.xdist_group("read-replica")  # one pair of clusters per run


def _programs() -> Path:
    programs = server_programs()
    if programs is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup) are "
                        "required in CI")
        pytest.skip("PostgreSQL's server programs are not installed")
    return programs


@pytest.fixture(scope="session")
def streaming_pair() -> Iterator[StreamingPair]:
    """A primary and its streaming hot standby on loopback ports, removed at the end."""
    pair = make_pair(_programs())
    try:
        yield pair
    finally:
        pair.remove()


async def _on_replica(pair: StreamingPair, database: str) -> None:
    """Wait until the replica has replayed the database's creation."""
    for _ in range(200):
        try:
            conn = await asyncpg.connect(pair.replica_dsn(database))
        except (OSError, asyncpg.PostgresError):
            await asyncio.sleep(0.05)
            continue
        await conn.close()
        return
    raise AssertionError(f"the replica never showed database {database}")


@contextlib.asynccontextmanager
async def _served_on(pair: StreamingPair, folder: Path) -> AsyncIterator[Api]:
    """The service on a fresh database of the pair's primary, reading from its replica."""
    database = f"ledger_replica_{uuid.uuid4().hex[:12]}"
    pair.create_database(database)
    await _on_replica(pair, database)
    async with serve(pair.primary_dsn(database), folder,
                     read_database_url=pair.replica_dsn(database)) as served:
        assert served.runtime.replica is not None and served.runtime.replica.up
        yield served


@pytest.fixture
async def api(streaming_pair: StreamingPair, tmp_path: Path) -> AsyncIterator[Api]:
    """The service on the session's pair."""
    async with _served_on(streaming_pair, tmp_path) as served:
        yield served


def _served(api: Api) -> Counter[str]:
    assert api.runtime.replica is not None
    return Counter(api.runtime.replica.served)


async def _start_case(api: Api) -> tuple[str, str]:
    """A new departure, sequenced and on the primary's board: its id and a read-after token
    that covers the board's row. The response's own token covers the command only, not the
    sequencer's and the board's later writes on the primary: a replica that has replayed to
    it may not have the board's row yet (the board's wait, ``after_event``, is for that)."""
    reply = await api.post("/v1/departures", "hr.sun", json=departure_body())
    assert reply.status == 201, reply.body
    written = parse_lsn(reply.headers["Ledger-Read-After"])
    await api.sequence()
    await api.runtime.board.catch_up()
    settled = await _caught_up(api)
    assert written <= parse_lsn(settled)
    return reply.json()["result"]["departure_id"], settled


async def _hr_board(api: Api, **headers: str) -> list[str]:
    reply = await api.get("/v1/boards/hr", "hr.sun", headers=headers)
    assert reply.status == 200, reply.body
    return [item["id"] for item in reply.json()["items"]]


def _checkpoint_size(body: bytes) -> int:
    return int(body.decode().split("\n")[1])


async def test_boards_and_log_reads_are_served_by_the_replica(api: Api) -> None:
    departure, token = await _start_case(api)
    before = _served(api)
    board = await api.get(f"/v1/boards/departures/{departure}", "hr.sun",
                          headers={"Ledger-Read-After": token})
    assert board.status == 200 and board.json()["departure"]["id"] == departure
    assert departure in await _hr_board(api, **{"Ledger-Read-After": token})
    inbox = await api.get("/v1/inbox", "li.qiang", headers={"Ledger-Read-After": token})
    assert inbox.status == 200
    checkpoint = await api.get("/log/checkpoint", headers={"Ledger-Read-After": token})
    assert checkpoint.status == 200 and _checkpoint_size(checkpoint.body) >= 1
    tile = await api.get("/log/tile/0/000.p/1", headers={"Ledger-Read-After": token})
    assert tile.status == 200 and len(tile.body) == 32
    served = _served(api) - before
    assert served[REPLICA] >= 8 and served[PRIMARY] == 0, served
    # and what served them is a standby
    assert api.runtime.replica is not None and api.runtime.replica.replica is not None
    assert await api.runtime.replica.replica.pool.fetchval("SELECT pg_is_in_recovery()")


async def test_only_a_get_requests_reads_go_to_the_replica(api: Api) -> None:
    async def in_recovery() -> bool:
        rows = await api.runtime.projections.fetch("SELECT pg_is_in_recovery() AS standby")
        return bool(rows[0]["standby"])

    assert not await in_recovery()  # a worker's, the CLI's: no scope, the primary
    with reading(ReadScope(replica_allowed=False)):  # a command's
        assert not await in_recovery()
    with reading(ReadScope(replica_allowed=True)):  # a GET's
        assert await in_recovery()
    _departure, token = await _start_case(api)  # a write answers with its WAL position
    assert api.runtime.replica is not None
    assert parse_lsn(token) <= await api.runtime.replica.write_position()
    missing = await api.get("/v1/boards/hr", "hr.sun", headers={"Ledger-Read-After": "nope"})
    assert missing.problem(422)["detail"].startswith("a read-after token")


async def test_a_position_beyond_the_primary_s_is_clamped_to_it(api: Api) -> None:
    departure, _token = await _start_case(api)
    await _caught_up(api)
    before = _served(api)
    loop = asyncio.get_running_loop()
    for future in ("FFFFFFFF/FFFFFFFF", format_lsn(parse_lsn(await _caught_up(api)) + (1 << 32))):
        started = loop.time()
        assert departure in await _hr_board(api, **{"Ledger-Read-After": future})
        # Not the catch-up wait for a position no replica will reach, then the primary: the
        # read waits (if at all) for the primary's own position, which the replica reaches.
        assert loop.time() - started < 0.8  # catch_up_seconds is 1
    served = _served(api) - before
    assert served[REPLICA] >= 2 and served[PRIMARY] == 0, served


async def test_a_stalled_replica_serves_others_older_state_but_never_the_writer_its_past(
        api: Api, streaming_pair: StreamingPair) -> None:
    first, _ = await _start_case(api)
    settled = await _caught_up(api)
    assert first in await _hr_board(api, **{"Ledger-Read-After": settled})
    size = _checkpoint_size((await api.get("/log/checkpoint",
                                           headers={"Ledger-Read-After": settled})).body)
    streaming_pair.replica_sql("SELECT pg_wal_replay_pause()")
    try:
        written, token = await _start_case(api)
        # Anyone without the token reads the replica, which has not replayed the write.
        before = _served(api)
        seen = await _hr_board(api)
        assert first in seen and written not in seen
        stale = await api.get("/log/checkpoint")
        assert _checkpoint_size(stale.body) == size
        assert (_served(api) - before)[PRIMARY] == 0
        # The writer, with its token, waits up to a second and is then read from the primary.
        before = _served(api)
        assert written in await _hr_board(api, **{"Ledger-Read-After": token})
        fresh = await api.get("/log/checkpoint", headers={"Ledger-Read-After": token})
        assert _checkpoint_size(fresh.body) > size
        # So is a read that waits for the write's event (the board's own wait).
        event = (await api.get(f"/v1/streams/{written}/events", "hr.sun")).json()["items"][0]
        waited = await api.get(f"/v1/boards/departures/{written}?after_event={event['id']}",
                               "hr.sun")
        assert waited.status == 200 and waited.json()["departure"]["id"] == written
        served = _served(api) - before
        assert served[REPLICA] == 0 and served[PRIMARY] >= 3, served
        # The monitor sets a replica aside once it is a whole interval behind.
        route = api.runtime.replica
        assert route is not None
        await route.check()
        await route.check()
        assert not route.up and route.worker.health().detail.startswith("degraded: behind")
        before = _served(api)
        assert written in await _hr_board(api)
        assert (_served(api) - before)[REPLICA] == 0
    finally:
        streaming_pair.replica_sql("SELECT pg_wal_replay_resume()")
    # Replaying again, the replica serves the writer's read once it has the write.
    await _streaming(api)
    before = _served(api)
    assert written in await _hr_board(api, **{"Ledger-Read-After": token})
    assert (_served(api) - before)[PRIMARY] == 0


async def test_reads_go_on_through_the_primary_while_the_replica_is_down(
        api: Api, streaming_pair: StreamingPair) -> None:
    departure, token = await _start_case(api)
    route = api.runtime.replica
    assert route is not None
    await asyncio.to_thread(streaming_pair.stop_replica)
    try:
        before = _served(api)
        assert departure in await _hr_board(api)
        board = await api.get(f"/v1/boards/departures/{departure}", "hr.sun")
        assert board.status == 200
        checkpoint = await api.get("/log/checkpoint")
        assert checkpoint.status == 200
        assert (_served(api) - before)[REPLICA] == 0
        assert not route.up
        await route.check()  # what the monitor does every few seconds
        ready = await api.get("/readyz")
        assert ready.status == 200, ready.body
        replica = [w for w in ready.json()["workers"] if w["name"] == "replica"]
        assert replica[0]["ok"] and replica[0]["detail"].startswith("degraded: unreachable")
    finally:
        await asyncio.to_thread(streaming_pair.start_replica)
    await _streaming(api)
    before = _served(api)
    assert departure in await _hr_board(api, **{"Ledger-Read-After": token})
    assert (_served(api) - before)[PRIMARY] == 0
    ready = await api.get("/readyz")
    replica = [w for w in ready.json()["workers"] if w["name"] == "replica"]
    assert replica[0]["detail"].startswith("streaming: replayed to ")


async def _streaming(api: Api) -> None:
    """Run the monitor's check until it finds the replica streaming (within 10 s)."""
    route = api.runtime.replica
    assert route is not None
    for _ in range(200):
        await route.check()
        if route.up:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the replica is still {route.worker.health().detail}")


async def _caught_up(api: Api) -> str:
    """A token for everything written so far (the primary's WAL position now)."""
    assert api.runtime.replica is not None
    return format_lsn(await api.runtime.replica.write_position())


async def test_a_read_replica_needs_postgresql_on_both_sides(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/l.db", data_dir=tmp_path,
                        log_origin=TEST_ORIGIN, key_dir=tmp_path / "keys",
                        read_database_url="postgresql://postgres@127.0.0.1:1/x")
    with pytest.raises(ConfigurationError, match="LEDGER_READ_DATABASE_URL"):
        await bootstrap(settings)


async def test_without_a_replica_no_token_is_handed_out(tmp_path: Path) -> None:
    async with serve(f"sqlite:///{tmp_path}/l.db", tmp_path) as api:
        reply = await api.post("/v1/departures", "hr.sun", json=departure_body())
        assert reply.status == 201 and "Ledger-Read-After" not in reply.headers
        assert api.runtime.replica is None
        board = await api.get("/v1/boards/hr", "hr.sun", headers={"Ledger-Read-After": "0/1"})
        assert board.status == 200  # nothing to wait for: one database answers everything


async def test_a_promoted_replica_is_never_read_again(tmp_path: Path) -> None:
    pair = await asyncio.to_thread(make_pair, _programs())  # its own: promotion ends a pair
    try:
        async with _served_on(pair, tmp_path) as api:
            departure, token = await _start_case(api)
            assert departure in await _hr_board(api, **{"Ledger-Read-After": token})
            pair.replica_sql("SELECT pg_promote()")  # a failover elsewhere made it a primary
            route = api.runtime.replica
            assert route is not None
            await route.check()
            assert not route.up
            assert route.worker.health().detail.startswith("degraded: not a standby")
            before = _served(api)
            assert departure in await _hr_board(api)
            assert (_served(api) - before)[REPLICA] == 0
    finally:
        await asyncio.to_thread(pair.remove)
