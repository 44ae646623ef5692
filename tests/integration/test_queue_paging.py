"""Department queues are paged in SQL: a page reads one row per entry it shows, not every
open item of the queue, and its entries, order and ``total`` are those of reading the whole
queue and paging it in Python (the former way, kept as the reference in
``tests.support.queue_reference``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import asyncpg

from ledger.projections import inbox_queries as iq
from ledger.projections.board import tables
from ledger.projections.board_queries import board_position
from ledger.service.context import Actor
from ledger.store.projection_port import ProjectionStore
from tests.integration.http_fixtures import Api
from tests.integration.test_http_api import approved
from tests.support.case_steps import add_item
from tests.support.queue_reference import whole_queue


@contextlib.contextmanager
def _rows_fetched(store: ProjectionStore) -> Iterator[list[int]]:
    """How many rows each of ``store``'s reads returned while the block ran."""
    fetched: list[int] = []
    fetch = store.fetch

    async def counting(sql: str, *args: object) -> list[Any]:
        rows = await fetch(sql, *args)
        fetched.append(len(rows))
        return rows

    store.fetch = counting  # type: ignore[method-assign]
    try:
        yield fetched
    finally:
        store.fetch = fetch  # type: ignore[method-assign]


async def _plan_uses(api: Api, database_url: str, sql: str, index: str) -> bool:
    """Whether the database plans ``sql`` with ``index`` (PostgreSQL asked as if the tables
    were large: a tiny table is cheapest to scan)."""
    if database_url.startswith("sqlite"):
        rows = await api.runtime.projections.fetch(f"EXPLAIN QUERY PLAN {sql}")
        return any(index in str(row["detail"]) for row in rows)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {sql}"))
    finally:
        await conn.close()
    return index in plan


async def _whole_queue(api: Api, queue: str) -> list[dict[str, Any]]:
    return await whole_queue(api.runtime.projections, queue)


async def test_a_queue_page_reads_its_entries_only_and_pages_as_the_whole_queue(
        api: Api) -> None:
    cases = [await approved(api) for _ in range(2)]
    items = []
    for n in range(14):
        due = {"due_date": f"2026-12-{10 + n % 5:02d}"} if n % 3 else {}
        items.append(await add_item(api, cases[n % 2], receiver="dept:it",
                                    category="accounts_permissions", title=f"账号{n}", **due))
    for item_id in items[:4]:  # the queue must confirm these
        assert (await api.post(f"/v1/items/{item_id}/submit", "wang.lei",
                               json={})).status == 200
    for item_id in items[2:7]:  # and answer a question on these (two also to confirm)
        asked = await api.post(f"/v1/items/{item_id}/comments", "hr.sun",
                               json={"text": "何时?", "question_to": "dept:it"})
        assert asked.status == 201, asked.body
    done = items[13]  # a confirmed item leaves the queue
    assert (await api.post(f"/v1/items/{done}/submit", "wang.lei", json={})).status == 200
    assert (await api.post(f"/v1/items/{done}/confirm", "it.qian", json={})).status == 200
    # what reaches the server's process of a page: its own rows, not the queue's open items
    with _rows_fetched(api.runtime.projections) as fetched:
        page = await api.read_model("/v1/queues/it?limit=3&offset=5", "it.qian")
    assert page.status == 200, page.body
    assert len(page.json()["items"]) == 3
    assert max(fetched) == 3, fetched  # the page's rows (and single rows: positions)
    assert page.json()["items"] == (await _whole_queue(api, "dept:it"))[5:8]
    whole = (await api.read_model("/v1/queues/it?limit=200", "it.qian")).json()
    expected = await _whole_queue(api, "dept:it")
    assert {e["action"] for e in expected} == {"confirm", "answer_question", "awaiting_giver"}
    # the same entries in the same order (ties, which the former read left to the
    # database's row order, now by item)
    assert (whole["total"], whole["items"]) == (len(expected), expected)
    assert len(expected) == 13 + 2  # two items both to confirm and to answer
    paged = []
    for offset in range(0, 18, 4):
        page = (await api.read_model(f"/v1/queues/it?limit=4&offset={offset}",
                                     "hr.sun")).json()
        assert (page["total"], page["limit"], page["offset"]) == (len(expected), 4, offset)
        paged += page["items"]
    assert paged == expected
    beyond = (await api.read_model("/v1/queues/it?offset=40", "hr.sun")).json()
    assert (beyond["items"], beyond["total"]) == ([], len(expected))


async def test_an_hr_owners_waivable_items_are_read_case_by_case_from_an_index(
        api: Api, database_url: str) -> None:
    """The receivers of an HR owner's open mandatory items (the inbox's ``waive`` entries)
    come from the board's partial index, not a scan of every item (which grew with the
    board: 23 ms for 7,000 items under the load test, 0.8 ms from the index)."""
    departure_id = await approved(api)
    await add_item(api, departure_id, receiver="stranger", title="项目文档")
    assert (await api.post("/v1/principals/stranger/deactivate", "admin",
                           json={})).status == 200
    reply = await api.read_model("/v1/inbox", "hr.sun")
    assert ("waive", "项目文档") in [(e["action"], e.get("title")) for e in reply.json()["items"]]
    t = tables((await board_position(api.runtime.projections)).generation)
    waivable = (f"SELECT DISTINCT i.receiver FROM {t['items']} i JOIN {t['departures']} d "
                "ON d.departure_id = i.departure_id WHERE d.open = 1 AND d.hr_owner_id = "
                "'hr.sun' AND i.open = 1 AND i.mandatory = 1 AND i.receiver NOT LIKE 'dept:%'")
    assert await _plan_uses(api, database_url, waivable, f"{t['items']}_mandatory")


async def test_an_inbox_page_reads_its_entries_on_items_up_to_its_end_only(api: Api) -> None:
    """An inbox's entries on items (the leaver's to submit, resubmit and answer here) are read
    in their stored order up to the page's end, merged with the case's own entries: each
    page is the whole inbox's, cut, with the whole's ``total``."""
    cases = [await approved(api) for _ in range(2)]
    items = []
    for n in range(12):
        due = {"due_date": f"2026-12-{10 + n % 4:02d}"} if n % 3 else {}
        items.append(await add_item(api, cases[n % 2], title=f"事项{n}", **due))
    assert (await api.post(f"/v1/items/{items[0]}/submit", "wang.lei", json={})).status == 200
    assert (await api.post(f"/v1/items/{items[0]}/reject", "zhao.min",
                           json={"reason": "缺少"})).status == 200
    for item_id in items[3:6]:
        asked = await api.post(f"/v1/items/{item_id}/comments", "hr.sun",
                               json={"text": "何时?", "question_to": "wang.lei"})
        assert asked.status == 201, asked.body
    await api.read_model("/v1/inbox", "wang.lei")  # the board caught up
    store = api.runtime.projections
    whole = await iq.inbox(store, api.runtime.principals, Actor("wang.lei", "employee"))
    assert len(whole["items"]) == whole["total"] == 15  # 12 to (re)submit, 3 questions
    assert next(e for e in whole["items"] if e["item_id"] == items[0])["action"] == "resubmit"
    with _rows_fetched(store) as fetched:
        page = await api.get("/v1/inbox?limit=3&offset=2", "wang.lei")
    assert page.status == 200, page.body
    assert max(fetched) == 5, fetched  # the entries up to the page's end, not all 15
    paged = []
    for offset in range(0, 18, 4):
        found = (await api.get(f"/v1/inbox?limit=4&offset={offset}", "wang.lei")).json()
        assert (found["total"], found["limit"], found["offset"]) == (15, 4, offset)
        paged += found["items"]
    assert paged == whole["items"]


async def test_leavers_requests_for_hr_are_read_from_an_index(api: Api, database_url: str) -> None:
    """Every HR inbox lists the leavers' requests not yet accepted: read from a partial index
    of them, not by scanning every case the board has kept (closed ones included)."""
    t = tables((await board_position(api.runtime.projections)).generation)
    requested = (f"SELECT d.departure_id, d.leaver_name, d.doc FROM {t['departures']} d "
                 "WHERE d.state = 'requested' AND d.leaver_id <> 'hr.sun'")
    assert await _plan_uses(api, database_url, requested, f"{t['departures']}_requested")
