"""The close gate holds under concurrency, through the real HTTP API on PostgreSQL and SQLite.

Each round prepares a small case (one item, brought to the state the command needs), then
sends the close and one item command at once. Whatever wins, the log must say what happened:
no item event is ever ordered after its departure's close, and the close's recorded counts are
always the items' states. Items are optional (so either order can succeed) except in the
rounds where a confirmation or waiver is what unblocks a mandatory item.

To race another item command (e.g. an upload, once ``ItemEvidenceUploaded`` exists), add a
``Race`` to ``RACES``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from ledger.aggregates.departure import FINAL_STATES
from ledger.service import commands as c
from ledger.store.port import EventStore
from ledger.verify_gate import ITEM_STATE_AFTER, verify_gate
from tests.integration.http_fixtures import (
    HR,
    LEAVER,
    Api,
    Reply,
    departure_body,
    postgres_database,
    serve,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROUNDS = 40  # per race and store: 7 races x 40 rounds x 2 stores = 560 rounds
FINAL_EVENTS = ("DepartureClosed", "DepartureWithdrawn")
assert {f"Departure{s.capitalize()}" for s in FINAL_STATES} == set(FINAL_EVENTS)


@dataclass(frozen=True)
class Race:
    """One item command to race against the close."""

    who: str  # the principal sending it
    action: str  # the path after /v1/items/{id}/
    body: dict[str, Any]
    receiver: str = "zhao.min"
    submitted: bool = False  # the item must be submitted first (a review)
    unblocks: bool = False  # it makes a mandatory item done: half the rounds are mandatory
    status: int = 200  # its success status
    upload: bool = False  # a multipart file upload instead of a JSON body


RACES: dict[str, Race] = {
    "submit": Race("wang.lei", "submit", {"note": "客户资料已交"}),
    "confirm": Race("zhao.min", "confirm", {"note": "收到"}, submitted=True, unblocks=True),
    "reject": Race("zhao.min", "reject", {"reason": "缺少合同"}, submitted=True),
    "waive": Race("hr.sun", "waive", {"reason": "不再需要"}, unblocks=True),
    "external evidence": Race("it.qian", "external-evidence",
                              {"source": "iam", "kind": "account_disabled",
                               "reference": "IAM-1"}, receiver="dept:it", status=201),
    "comment": Race("hr.sun", "comments", {"text": "请尽快"}, status=201),
    "upload": Race("wang.lei", "evidence", {}, status=201, upload=True),
}


def send(api: Api, race: Race, item: uuid.UUID) -> Awaitable[Reply]:
    """The item command of ``race`` (a fresh file for an upload)."""
    path = f"/v1/items/{item}/{race.action}"
    if race.upload:
        form = aiohttp.FormData()
        form.add_field("file", f"handover note {uuid.uuid4()}".encode(), filename="note.txt",
                       content_type="text/plain")
        return api.post(path, race.who, data=form)
    return api.post(path, race.who, json=race.body)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(store_kind: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    folder = tmp_path_factory.mktemp(f"gate-race-{store_kind}")
    database = postgres_database() if store_kind == "postgres" else contextlib.nullcontext(
        f"sqlite:///{folder}/l.db")
    # These rounds race the item gate alone; the handover confirmation (a departure event,
    # which every item command depends on) has its own tests in test_handover_confirmation.
    async with database as url, serve(url, folder, close_requires_confirmation=False) as served:
        yield served


@dataclass(frozen=True)
class Round:
    """One raced case and what each side was answered."""

    departure: uuid.UUID
    item: uuid.UUID
    mandatory: bool
    close: Reply
    command: Reply


async def prepare(api: Api, race: Race, mandatory: bool) -> tuple[uuid.UUID, uuid.UUID]:
    """A case handing over one item, in the state ``race`` needs (made without HTTP)."""
    ledger = api.runtime.ledger
    started = await ledger.execute(c.StartDeparture.model_validate(
        departure_body(chain=False)), HR)
    departure = uuid.UUID(str(started.result["departure_id"]))
    await ledger.execute(c.SubmitForApproval(departure_id=departure), HR)
    added = await ledger.execute(c.AddItem(departure_id=departure, category="documents",
                                           title="项目文档", receiver=race.receiver,
                                           mandatory=mandatory), HR)
    item = uuid.UUID(str(added.result["item_id"]))
    if race.submitted:
        await ledger.execute(c.SubmitItem(item_id=item, note="handed over"), LEAVER)
    return departure, item


async def race_once(api: Api, race: Race, mandatory: bool, rng: random.Random) -> Round:
    """Send the close and the item command together, in a random order."""
    departure, item = await prepare(api, race, mandatory)
    close: Callable[[], Awaitable[Reply]] = lambda: api.post(  # noqa: E731
        f"/v1/departures/{departure}/close", "hr.sun", json={})
    command: Callable[[], Awaitable[Reply]] = lambda: send(api, race, item)  # noqa: E731
    # The one sent second starts up to 20 ms later, so that a slower command (an upload
    # streams its file first) also gets to commit before the close in some rounds, even on a
    # busy machine (5 ms was not always enough for the upload on SQLite under load).
    lag = rng.random() * 0.02

    async def later(send: Callable[[], Awaitable[Reply]]) -> Reply:
        await asyncio.sleep(lag)
        return await send()

    if rng.random() < 0.5:
        closed, commanded = await asyncio.gather(close(), later(command))
    else:
        commanded, closed = await asyncio.gather(command(), later(close))
    return Round(departure, item, mandatory, closed, commanded)


async def check_round(store: EventStore, done: Round) -> None:
    """The log agrees with the answers and with the gate."""
    for reply in (done.close, done.command):
        assert reply.status < 500, reply.body[:300]
        if reply.status >= 400:
            assert reply.problem(409)  # a refusal, never an error
    departure_rows = await store.read_stream(done.departure)
    item_rows = await store.read_stream(done.item)
    final = [r for r in departure_rows if r.event_type in FINAL_EVENTS]
    assert len(final) == (1 if done.close.status == 200 else 0), done.close.body[:300]
    if not final:
        return
    close = final[0]
    assert all(r.position < close.position for r in item_rows), "item event after the close"
    state = _last_state(item_rows)
    counts = json.loads(close.entry)["payload"]
    assert {k: counts[k] for k in ("items_total", "confirmed", "waived", "optional_open")} == {
        "items_total": 1, "confirmed": int(state == "confirmed"),
        "waived": int(state == "waived"),
        "optional_open": int(state not in ("confirmed", "waived"))}
    assert not done.mandatory or state in ("confirmed", "waived")


def _last_state(rows: list[Any]) -> str:
    states = [ITEM_STATE_AFTER[r.event_type] for r in rows if r.event_type in ITEM_STATE_AFTER]
    return states[-1]


def outcome(done: Round) -> str:
    """Which way the race went, as the answers say."""
    return f"close {done.close.status}, command {done.command.status}"


@pytest.mark.parametrize("name", list(RACES))
async def test_close_racing_an_item_command_never_lets_both_break_the_gate(
        api: Api, name: str) -> None:
    race, rng = RACES[name], random.Random(name)
    seen: Counter[str] = Counter()
    for n in range(ROUNDS):
        done = await race_once(api, race, mandatory=race.unblocks and n % 2 == 1, rng=rng)
        await check_round(api.runtime.store, done)
        assert done.command.status in (race.status, 409), done.command.body[:300]
        seen[outcome(done)] += 1
    # The race went both ways: sometimes the close won, sometimes the item command did.
    assert seen[f"close 200, command {race.status}"] + seen[f"close 409, command {race.status}"]
    assert seen["close 200, command 409"], seen


async def test_the_raced_ledger_passes_the_gate_audit_in_log_order(api: Api) -> None:
    await api.sequence()
    block = await api.runtime.log.read_entry_block(0, 1_000_000)
    assert block.indexes == list(range(len(block.indexes)))
    assert await verify_gate(api.runtime.store, block.positions) == []


async def test_every_item_write_is_refused_once_the_departure_is_closed(api: Api) -> None:
    for name, race in RACES.items():
        departure, item = await prepare(api, race, mandatory=False)
        closed = await api.post(f"/v1/departures/{departure}/close", "hr.sun", json={})
        assert closed.status == 200, closed.body[:300]
        before = len(await api.runtime.store.read_stream(item))
        refused = await send(api, race, item)
        assert "closed" in refused.problem(409)["detail"], name
        assert len(await api.runtime.store.read_stream(item)) == before, name


@pytest.mark.parametrize(("action", "who", "body"), [
    ("reassign", "hr.sun", {"receiver": "stranger", "reason": "moved"}),
    ("comments", "wang.lei", {"text": "one more thing"}),
    ("comments", "li.qiang", {"text": "manager's note"}),
    ("submit", "hr.sun", {"note": "for the giver", "on_behalf": True}),
])
async def test_leaver_manager_and_hr_cannot_write_to_a_closed_case(
        api: Api, action: str, who: str, body: dict[str, Any]) -> None:
    departure, item = await prepare(api, RACES["submit"], mandatory=False)
    assert (await api.post(f"/v1/departures/{departure}/close", "hr.sun", json={})).status == 200
    refused = await api.post(f"/v1/items/{item}/{action}", who, json=body)
    assert "closed" in refused.problem(409)["detail"]
    assert (await api.get(f"/v1/items/{item}", "wang.lei")).status == 200  # still readable


async def test_every_item_write_is_refused_once_the_departure_is_withdrawn(api: Api) -> None:
    for name, race in RACES.items():
        departure, item = await prepare(api, race, mandatory=True)
        withdrawn = await api.post(f"/v1/departures/{departure}/withdraw", "hr.sun",
                                   json={"reason": "stays"})
        assert withdrawn.status == 200, withdrawn.body[:300]
        refused = await send(api, race, item)
        assert "withdrawn" in refused.problem(409)["detail"], name


async def test_an_outsider_commenting_on_a_closed_case_learns_nothing_of_it(api: Api) -> None:
    departure, item = await prepare(api, RACES["comment"], mandatory=False)
    open_reply = await api.post(f"/v1/items/{item}/comments", "stranger", json={"text": "?"})
    assert (await api.post(f"/v1/departures/{departure}/close", "hr.sun", json={})).status == 200
    closed_reply = await api.post(f"/v1/items/{item}/comments", "stranger", json={"text": "?"})
    # A stranger may not read the item: open or closed, it is absent to them.
    assert open_reply.status == closed_reply.status == 404
    assert open_reply.json() == closed_reply.json()
    assert "closed" not in closed_reply.body.decode()
