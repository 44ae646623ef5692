"""Three ``ledger serve`` processes on one PostgreSQL database, written to side by side: one
leads each background role and the others stand by; SIGKILL the leader under load and
another takes every role over within 5 s, with nothing lost or done twice (the log, the
outbox, the board). A second ``ledger serve`` on one SQLite file refuses to start."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.fleet import (
    ROLES,
    ROOT,
    Fleet,
    Served,
    Writer,
    add_writer,
    board_against_rebuild,
    examine_log,
    leaders,
    subscribe,
    wait_caught_up,
    wait_for_leaders,
    webhook_receiver,
    workers,
)
from tests.support.sse import next_event

TAKEOVER_SECONDS = 5.0



async def test_a_killed_leader_is_replaced_within_5s_and_nothing_is_lost_or_doubled(
        pg_dsn: str, tmp_path: Path) -> None:
    fleet = Fleet(pg_dsn, tmp_path)
    receiver, hook = await webhook_receiver()
    live: dict[str, asyncio.Task[dict[str, Any]]] = {}
    try:
        first = await fleet.start()  # makes the keys and the schema; the others share them
        operator = next(line.rsplit(" ", 1)[-1] for line in first.text().splitlines()
                        if "bootstrap operator token" in line)
        others = await asyncio.gather(fleet.start(), fleet.start())
        token = await add_writer(pg_dsn, tmp_path)
        async with aiohttp.ClientSession() as session:
            await subscribe(session, first, operator, hook)
            await wait_for_leaders(session, fleet, 10)
            led = await leaders(session, fleet)
            # the first process took every role; each role has exactly one leader
            assert all(led[role] == [first] for role in ROLES), led
            standby = {name: detail for name, detail in
                       (await workers(session, others[0])).items() if name in ROLES}
            assert all(d.startswith("standing by") for d in standby.values()), standby

            # the HR dashboard's live stream on each standby: a board led elsewhere
            live = {served.base: asyncio.create_task(_first_change(session, served, token))
                    for served in others}
            writer = Writer(fleet, token)
            stop = asyncio.Event()
            writing = asyncio.create_task(writer.run(session, stop))
            await asyncio.sleep(2.0)
            before = len(writer.acknowledged)
            await fleet.kill(first)  # mid-load: batches in flight in its transactions
            killed_at = time.monotonic()
            taken = await wait_for_leaders(session, fleet, TAKEOVER_SECONDS)
            takeover = time.monotonic() - killed_at
            led = await leaders(session, fleet)
            assert all(len(led[role]) == 1 for role in ROLES), led
            # the survivor that never led the board streamed its changes all the same
            standby_base = next(s.base for s in others if s not in led["projection:board"])
            changed = await asyncio.wait_for(live[standby_base], 30)
            assert changed["departures"] and changed["position"] > 0
            for task in live.values():
                task.cancel()
            await asyncio.sleep(2.0)  # writing goes on through the survivors
            stop.set()
            await writing
            assert len(writer.acknowledged) > before > 0, (writer.refused, writer.last_problem)
            size = await wait_caught_up(pg_dsn)
        await fleet.stop()
    finally:
        for task in live.values():
            task.cancel()
        await fleet.stop()
        await receiver.cleanup()
    print(f"takeover after SIGKILL: {takeover:.2f}s; per role {taken}; "
          f"{len(writer.acknowledged)} events acknowledged, refused {dict(writer.refused)}")
    assert takeover < TAKEOVER_SECONDS
    found = await examine_log(pg_dsn, writer.acknowledged)
    assert found.size == size
    assert found.gaps_or_duplicates == 0
    assert found.acknowledged_missing == 0 and found.acknowledged_twice == 0
    assert found.outbox_duplicates == 0 and found.outbox_rows == found.outbox_expected > 0
    rows, differ = await board_against_rebuild(pg_dsn, tmp_path)
    assert rows > 0 and differ == 0


async def _first_change(session: aiohttp.ClientSession, served: Served,
                        token: str) -> dict[str, Any]:
    """The first ``changed`` event of ``served``'s live HR dashboard stream."""
    async with session.get(served.base + "/v1/boards/hr/events",
                           headers={"Authorization": f"Bearer {token}"}) as reply:
        assert reply.status == 200, await reply.text()
        while True:
            event = await next_event(reply.content)
            if event.get("event") == "changed":
                found: dict[str, Any] = json.loads(event["data"])
                return found


def test_a_second_serve_on_one_sqlite_file_refuses_to_start(tmp_path: Path) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")},
           "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "ledger.cli", "serve", "--port", "0"]
    first = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        assert first.stdout is not None
        deadline = time.monotonic() + 60
        while "serving on" not in first.stdout.readline():
            assert time.monotonic() < deadline and first.poll() is None
        second = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True,
                                text=True, timeout=60)
        assert second.returncode == 2, second.stdout + second.stderr
        assert f"another ledger serve (pid {first.pid}) already serves" in second.stderr
        assert "use PostgreSQL" in second.stderr
        assert first.poll() is None  # the first one serves on
    finally:
        first.kill()
        first.wait()
