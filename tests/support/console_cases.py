"""Cases for the queue, report and verify pages, made over the real HTTP API; and the
sequencer and the board kept following the log while a test clicks (``ledger serve`` runs
both as workers; the test servers run neither)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from tests.integration.http_fixtures import Api
from tests.support.case_steps import add_item
from tests.support.confirmation import sign_confirmation_over_http
from tests.support.console import open_case

EMAIL_ITEM = "停用企业邮箱并设置转交"  # the clearance checklist's item IAM reports on


@contextlib.asynccontextmanager
async def following(api: Api, every: float = 0.02) -> AsyncIterator[None]:
    """Sequence and project what is written, every ``every`` seconds, until the block ends
    (a page that waits for a command's event then finds it on the board)."""
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            await api.sequence()
            await api.runtime.board.catch_up()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        # stopped between two rounds, never cancelled inside one: a cancellation landing
        # in a SQLite COMMIT leaves its ROLLBACK failing ("no transaction is active")
        stop.set()
        await task


async def caught_up(api: Api) -> None:
    """Everything written so far sequenced and on the board."""
    await api.sequence()
    await api.runtime.board.catch_up()


async def _ok(reply: Any, status: int = 200) -> Any:
    assert reply.status == status, reply.body[:400]
    return reply.json()


async def item_ids(api: Api, departure_id: str) -> dict[str, str]:
    """The case's items: title → id (from its board, as HR reads it)."""
    board = (await api.read_model(f"/v1/boards/departures/{departure_id}", "hr.sun")).json()
    return {i["title"]: i["id"] for items in board["categories"].values() for i in items}


async def clearance_case(api: Api) -> tuple[str, str]:
    """An open case with the clearance checklist applied, on which the IAM system reported
    the e-mail account disabled (so its IT item awaits IT's confirmation): (case, item)."""
    departure_id = await open_case(api, leaver="wang.lei")
    await _ok(await api.post(f"/v1/departures/{departure_id}/templates", "hr.sun",
                             json={"template_key": "clearance"}))
    email = (await item_ids(api, departure_id))[EMAIL_ITEM]
    await _ok(await api.post(f"/v1/items/{email}/external-evidence", "system.iam", json={
        "source": "Okta", "kind": "account_disabled", "reference": "OKTA-4711"}), 201)
    return departure_id, email


async def closed_case(api: Api, *, department: str = "Sales", notice: str = "2026-11-01",
                      leaver: str = "wang.lei", rejected: bool = False,
                      reminders: int = 0) -> str:
    """A case closed now: one item, confirmed (after a rejection when ``rejected``), and
    ``reminders`` reminders recorded before the close."""
    departure_id = await open_case(api, department=department, notice=notice, leaver=leaver)
    receiver = "zhao.min" if leaver != "zhao.min" else "wang.lei"
    item = await add_item(api, departure_id, receiver=receiver)
    for _ in range(reminders):
        await _ok(await api.post(f"/v1/departures/{departure_id}/reminders", "hr.sun",
                                 json={"to": leaver, "item_ids": [item],
                                       "channel": "email"}), 201)
    await _ok(await api.post(f"/v1/items/{item}/submit", leaver, json={"note": "all"}))
    if rejected:
        await _ok(await api.post(f"/v1/items/{item}/reject", receiver,
                                 json={"reason": "缺少三期需求"}))
        await _ok(await api.post(f"/v1/items/{item}/submit", leaver, json={"note": "again"}))
    await _ok(await api.post(f"/v1/items/{item}/confirm", receiver, json={"note": "ok"}))
    await sign_confirmation_over_http(api, departure_id)
    await _ok(await api.post(f"/v1/departures/{departure_id}/close", "hr.sun"))
    return departure_id
