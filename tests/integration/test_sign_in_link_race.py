"""Redeeming a sign-in link is single use under real concurrency: many PostgreSQL
connections, from several API processes' pools, race for one link and exactly one wins."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import Coroutine
from typing import Any

import asyncpg

from ledger.principals import Principal
from ledger.service.context import Actor
from ledger.sign_in_link import SignInLinkInfo, new_link_secret
from ledger.store.postgres import PostgresEventStore
from ledger.store.postgres_principals import PostgresPrincipalStore

RACERS = 4  # stores, each with its own pool: as many API processes
PER_STORE = 6


async def _racing_behind_a_lock(pg_dsn: str, link_hash: bytes,
                                racers: list[Coroutine[Any, Any, Principal | None]],
                                ) -> list[asyncio.Task[Principal | None]]:
    """Start ``racers`` while a third party holds the link's row, so that every one of them
    is queued on it at once and all re-check it the moment it is released."""
    locker, watcher = await asyncpg.connect(pg_dsn), await asyncpg.connect(pg_dsn)
    try:
        async with locker.transaction():
            await locker.execute("SELECT 1 FROM sign_in_links WHERE link_hash = $1 FOR UPDATE",
                                 link_hash)
            tasks = [asyncio.create_task(r) for r in racers]
            # the watcher, outside any transaction, reads fresh statistics each time
            for _ in range(1000):
                if await watcher.fetchval(
                        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a "
                        "ON a.pid = l.pid WHERE NOT l.granted "
                        "AND a.datname = current_database()") >= len(tasks):
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("the racers never all queued on the link's row")
        return tasks
    finally:
        await locker.close()
        await watcher.close()


async def test_of_many_processes_redeeming_one_link_exactly_one_wins(pg_dsn: str) -> None:
    stores = [await PostgresEventStore.connect(pg_dsn) for _ in range(RACERS)]
    try:
        await stores[0].migrate()
        principals = [PostgresPrincipalStore(s) for s in stores]
        await principals[0].add_principal(Principal("zhao.min", "赵敏", ("employee",)))
        now = dt.datetime.now(dt.UTC)
        for round_ in range(3):
            _, link_hash = new_link_secret()
            await principals[0].add_sign_in_link(link_hash, SignInLinkInfo(
                secrets.token_hex(8), "zhao.min", "hr.sun", "hr", now,
                now + dt.timedelta(minutes=30)))
            racing = await _racing_behind_a_lock(pg_dsn, link_hash, [
                p.redeem_sign_in_link(link_hash, now, f"192.0.2.{n}", f"racer {round_}")
                for p in principals for n in range(PER_STORE)])
            won = await asyncio.gather(*racing)
            assert [w for w in won if w is not None] == [
                Principal("zhao.min", "赵敏", ("employee",))]
        history = await principals[0].history("zhao.min")
        assert [e.action for e in history].count("sign_in_link_used") == 3
        assert all(link.used_at is not None
                   for link in await principals[0].list_sign_in_links("zhao.min"))
    finally:
        for s in stores:
            await s.close()


async def test_a_link_redeemed_and_revoked_at_once_is_either_used_or_revoked(
        pg_dsn: str) -> None:
    stores = [await PostgresEventStore.connect(pg_dsn) for _ in range(2)]
    try:
        await stores[0].migrate()
        first, second = (PostgresPrincipalStore(s) for s in stores)
        await first.add_principal(Principal("zhao.min", "赵敏", ("employee",)))
        now = dt.datetime.now(dt.UTC)
        for _ in range(10):
            _, link_hash = new_link_secret()
            link = SignInLinkInfo(secrets.token_hex(8), "zhao.min", "hr.sun", "hr", now,
                                  now + dt.timedelta(minutes=30))
            await first.add_sign_in_link(link_hash, link)
            used, revoked = await asyncio.gather(
                first.redeem_sign_in_link(link_hash, now, None, None),
                second.revoke_sign_in_link("zhao.min", link.link_id, Actor("hr.sun", "hr")))
            assert (used is not None) != revoked
    finally:
        for s in stores:
            await s.close()
