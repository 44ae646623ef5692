"""For random handover histories, the board built live (random batch sizes, restarts that
lose the runner's memory, a tiny aggregate cache that forces replays) equals a from-scratch
recomputation over the events, and its stored entries give the inboxes and queues that
reading every open item gave, live and after a rebuild."""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.aggregates.departure import Departure
from ledger.aggregates.item import HandoverItem
from ledger.projections.board import BoardProjector, tables
from ledger.projections.board_rows import (
    departure_columns,
    item_columns,
    new_extras,
    update_extras,
)
from ledger.projections.runner import ProjectionRunner
from tests.integration.http_fixtures import Api, serve
from tests.integration.test_http_api import approved
from tests.support.confirmation import sign_confirmation_over_http
from tests.support.queue_reference import entries_match_reference

RECEIVERS = ("zhao.min", "li.qiang", "dept:it")
PARTIES = (*RECEIVERS, "wang.lei", "hr.sun")  # the leaver gives, HR asks
OPS = st.one_of(
    st.tuples(st.just("add"), st.integers(0, 2), st.booleans(), st.integers(-5, 5)),
    st.tuples(st.sampled_from(["submit", "confirm", "reject", "waive", "comment", "ask",
                               "reassign"]), st.integers(0, 5)),
    st.tuples(st.just("remind")), st.tuples(st.just("close")),
    st.tuples(st.just("project"), st.integers(1, 7)), st.tuples(st.just("restart")),
)


async def _do(api: Api, case: str, items: list[str], op: tuple[Any, ...]) -> None:
    kind = op[0]
    if kind == "add":
        due = (dt.date(2026, 11, 20) + dt.timedelta(days=op[3])).isoformat()
        reply = await api.post(f"/v1/departures/{case}/items", "hr.sun", json={
            "category": "clients" if op[1] else "accounts_permissions",
            "title": f"事项{len(items)}",
            "receiver": RECEIVERS[op[1]], "mandatory": op[2], "due_date": due})
        if reply.status == 201:
            items.append(reply.json()["result"]["item_id"])
        return
    if kind in ("remind", "close"):
        state = (await api.get(f"/v1/departures/{case}", "hr.sun")).json()["state"]
        if kind == "close" and state == "handing_over":
            await sign_confirmation_over_http(api, case)
            await api.post(f"/v1/departures/{case}/close", "hr.sun")
        elif kind == "remind":
            await api.post(f"/v1/departures/{case}/reminders", "hr.sun", json={
                "to": "wang.lei", "item_ids": items[:1], "channel": "email"})
        return
    if not items:
        return
    item = items[op[1] % len(items)]
    receiver = (await api.get(f"/v1/items/{item}", "hr.sun")).json()["receiver"]
    who = "it.qian" if receiver == "dept:it" else receiver
    path, actor, body = {
        "submit": ("submit", "wang.lei", {}), "confirm": ("confirm", who, {}),
        "reject": ("reject", who, {"reason": "不完整"}),
        "waive": ("waive", "hr.sun", {"reason": "不再需要"}),
        "comment": ("comments", "hr.sun", {"text": "进度?"}),
        "ask": ("comments", "hr.sun", {"text": "在哪里?", "question_to": (
            "wang.lei", "dept:it", "zhao.min")[op[1] % 3]}),
        "reassign": ("reassign", "hr.sun", {"receiver": "zhao.min", "reason": "换人"}),
    }[kind]
    await api.post(f"/v1/items/{item}/{path}", actor, json=body)


async def _expected(api: Api, case: str, items: list[str]) -> tuple[dict[str, Any], ...]:
    ledger = api.runtime.ledger
    departure = departure_columns(await ledger.load(Departure, UUID(case)))
    rows = {}
    for item_id in items:
        extras = new_extras()
        for entry in await ledger.entries(UUID(item_id)):
            extras = update_extras(extras, entry)
        rows[item_id] = item_columns(await ledger.load(HandoverItem, UUID(item_id)), extras)
    return departure, rows


async def _history(ops: list[tuple[Any, ...]], folder: Path) -> None:
    async with serve(f"sqlite:///{folder}/ledger.db", folder) as api:
        case = await approved(api)
        items: list[str] = []
        runner = api.runtime.board
        await runner.worker.stop()  # this test drives the projection by hand
        for op in ops:
            if op[0] == "project":
                await api.sequence()
                runner.batch = op[1]
                await runner.step()
            elif op[0] == "restart":  # a new process: nothing remembered
                projector = BoardProjector(2)  # LEDGER_BOARD_CACHE_SIZE=2: both LRUs evict
                runner = ProjectionRunner(api.runtime.projections, projector, batch=3)
            else:
                await _do(api, case, items, op)
        await api.sequence()
        await runner.catch_up()
        held = runner.projector
        assert isinstance(held, BoardProjector)
        if held.capacity == 2:  # never more than LEDGER_BOARD_CACHE_SIZE in either LRU
            assert len(held.folder._held) <= 2 and len(held._written) <= 2
        departure, rows = await _expected(api, case, items)
        t = tables(1)
        got = (await api.runtime.projections.fetch(
            f"SELECT * FROM {t['departures']} WHERE departure_id = $1", case))[0]
        for column, value in departure.items():
            assert (orjson.loads(got[column]) if column in ("doc", "whole") else got[column]) == (
                orjson.loads(value) if column == "whole" else value), column
        got_items = {r["item_id"]: r for r in await api.runtime.projections.fetch(
            f"SELECT * FROM {t['items']}")}
        assert set(got_items) == set(rows)
        for item_id, expected in rows.items():
            for column, value in expected.items():
                stored = got_items[item_id][column]
                assert (orjson.loads(stored) if column == "doc" else stored) == value, column
        mandatory = [r for r in rows.values() if r["mandatory"]]
        assert (got["items_total"], got["mandatory_total"], got["mandatory_done"]) == (
            len(rows), len(mandatory), sum(1 for r in mandatory if not r["open"]))
        dues = [r["due_date"] for r in rows.values() if r["open"] and r["due_date"]]
        assert got["next_due"] == (min(dues) if dues else None)
        # the risk rules' stored inputs follow the figures (ledger.projections.board)
        open_case = bool(got["open"])
        rejections = [r["rejected_at"] for r in rows.values() if r["open"] and r["rejected_at"]]
        assert (got["risk_near"], got["risk_overdue"], got["risk_accounts"],
                got["risk_rejected"]) == (
            got["last_working_day"] if open_case and 2 * got["mandatory_done"] < len(
                mandatory) else None,
            got["next_due"] if open_case else None,
            got["last_working_day"] if open_case and got["accounts_open"] else None,
            (min(rejections) if rejections else None) if open_case else None)
        await entries_match_reference(api.runtime.projections, PARTIES)
        await runner.rebuild()  # from scratch, the same entries
        await entries_match_reference(api.runtime.projections, PARTIES)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(OPS, min_size=5, max_size=30))
def test_the_live_board_equals_a_recomputation(ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_history(ops, Path(folder)))
