"""The HTTP load of the fault tests (scripts/fault_kill.py, scripts/fault_pg.py): client tasks
walk handover cases through the API (start, submit, approve, add an item, upload a file to it)
while the server or its database is made to fail under them.

Every command is sent with its own ``Idempotency-Key`` (also its ``X-Request-Id``, which each
event it records keeps in ``context.request_id``) and retried under that same key until it is
answered 2xx, as a careful client would: a failure says nothing about whether it committed.
What each 2xx acknowledged is kept for the checks of tests/support/fault_checks.py, and every
other answer is tallied (a 503 must carry ``Retry-After``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from ledger.bootstrap import open_storage
from ledger.principals import Principal, new_token
from ledger.settings import Settings

HR, MANAGER = "hr.sun", "li.qiang"
LEAVERS = 20


@dataclass
class Op:
    """One command as the client saw it (retried under one key until acknowledged)."""

    name: str  # start, submit, approve, add_item, upload
    key: str  # Idempotency-Key and X-Request-Id
    attempts: int = 0
    acknowledged: bool = False
    replayed: bool = False  # the 2xx was a replay: an earlier attempt had committed
    events: dict[str, str] = field(default_factory=dict)  # event id → hash (hex)
    stream_id: str = ""  # an upload's item
    sha256: str = ""  # an upload's file
    refused: str = ""  # a 4xx that retrying cannot change: the command was given up


@dataclass
class Tally:
    """Every answer that was not a 2xx, and when the 503s and failures were seen."""

    answers: Counter[str] = field(default_factory=Counter)  # status or exception name
    without_retry_after: int = 0  # 503s lacking the header
    last_problem: str = ""
    failures: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, what)
    successes: list[float] = field(default_factory=list)  # monotonic times of 2xx commands
    reads: int = 0  # GETs answered 2xx
    # (monotonic time answered, "GET 503" / "POST 201" / an exception's name, seconds taken)
    timings: list[tuple[float, str, float]] = field(default_factory=list)

    def answered(self, what: str, began: float) -> None:
        """Keep how long an answer (or a failure to get one) took."""
        now = time.monotonic()
        self.timings.append((now, what, now - began))

    def failed(self, what: str, detail: str) -> None:
        self.answers[what] += 1
        self.last_problem = detail[:300]
        self.failures.append((time.monotonic(), what))


@dataclass
class Tokens:
    """The bearer tokens the clients act with."""

    hr: str
    manager: str


async def add_people(database_url: str, data_dir: Path) -> Tokens:
    """HR, the manager who approves, the leavers; a token each for HR and the manager."""
    storage = await open_storage(Settings(database_url=database_url, data_dir=data_dir))
    try:
        await storage.principals.add_principal(Principal(HR, "孙 HR", ("hr",)))
        await storage.principals.add_principal(Principal(MANAGER, "李强", ("employee",)))
        for n in range(LEAVERS):
            await storage.principals.add_principal(Principal(f"leaver.{n}", f"Leaver {n}",
                                                             ("employee",)))
        tokens = []
        for principal in (HR, MANAGER):
            token, token_hash = new_token()
            await storage.principals.add_token(token_hash, principal, "fault test")
            tokens.append(token)
        return Tokens(*tokens)
    finally:
        await storage.store.close()


def departure(n: int) -> dict[str, Any]:
    """Case ``n``: one in four left last week, so the scheduler records reminders and
    escalations for its overdue items beside the clients' commands (under its own
    idempotency keys, across the kills too); the others leave in half a year."""
    today = dt.date.today()
    last_day = today - dt.timedelta(days=6) if n % 4 == 0 else today + dt.timedelta(days=180)
    n %= LEAVERS
    return {"leaver": {"id": f"leaver.{n}", "name": f"Leaver {n}", "department": "Sales",
                       "position": "Account manager", "role_family": "sales"},
            "manager_id": MANAGER, "hr_owner_id": HR,
            "notice_date": (last_day - dt.timedelta(days=30)).isoformat(),
            "last_working_day": last_day.isoformat(), "reason": "resigned",
            "approval_chain": [{"name": "manager", "approver_id": MANAGER}]}


@dataclass
class Load:
    """``clients`` tasks walking cases on whichever server ``target`` names (None: none is up
    now). A command is given up (left unacknowledged) after ``give_up`` seconds."""

    target: Callable[[], str | None]
    tokens: Tokens
    clients: int = 6
    readers: int = 0  # tasks reading the board and the log's checkpoint meanwhile
    give_up: float = 60.0
    timeout: float = 10.0
    ops: list[Op] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    _cases: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def acknowledged(self) -> list[Op]:
        return [op for op in self.ops if op.acknowledged]

    @property
    def unacknowledged(self) -> list[Op]:
        return [op for op in self.ops if not op.acknowledged]

    async def run(self, stop: asyncio.Event) -> None:
        """Walk cases until ``stop`` is set (a case under way is finished first)."""
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(self._client(session, stop) for _ in range(self.clients)),
                                 *(self._reader(session, stop) for _ in range(self.readers)))

    async def _reader(self, session: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        """GET the board and the checkpoint in turn; failures tallied as ``GET <status>``."""
        headers = {"Authorization": f"Bearer {self.tokens.hr}"}
        for path in itertools.cycle(("/v1/departures", "/log/checkpoint")):
            if stop.is_set():
                return
            base = self.target()
            if base is None:
                await asyncio.sleep(0.05)
                continue
            began = time.monotonic()
            try:
                async with session.get(base + path, headers=headers, timeout=aiohttp.ClientTimeout(
                        total=self.timeout)) as reply:
                    text = await reply.text()
                    self.tally.answered(f"GET {reply.status}", began)
                    if reply.status >= 300:
                        if reply.status == 503 and "Retry-After" not in reply.headers:
                            self.tally.without_retry_after += 1
                        self.tally.failed(f"GET {reply.status}", f"GET {path}: {text}")
                    else:
                        self.tally.reads += 1
            except (aiohttp.ClientError, TimeoutError) as e:
                self.tally.answered(f"GET {type(e).__name__}", began)
                self.tally.failed(f"GET {type(e).__name__}", repr(e))
            await asyncio.sleep(0.1)

    async def _client(self, session: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._case(session, next(self._cases))

    async def _case(self, session: aiohttp.ClientSession, n: int) -> None:
        hr, manager = self.tokens.hr, self.tokens.manager
        started = await self._command(session, "start", "/v1/departures", hr,
                                      json=departure(n))
        if started is None:
            return
        d = f"/v1/departures/{started['result']['departure_id']}"
        if (await self._command(session, "submit", d + "/submit", hr, json={}) is None
                or await self._command(session, "approve", d + "/approvals/0/approve",
                                       manager, json={}) is None):
            return
        added = await self._command(session, "add_item", d + "/items", hr, json={
            "category": "clients", "title": f"客户资料 {n}", "receiver": MANAGER})
        if added is None:
            return
        item = added["result"]["item_id"]
        content = f"case {n} {uuid.uuid4()}\n".encode() * 64  # unique: names one upload

        def form() -> aiohttp.FormData:
            data = aiohttp.FormData()
            data.add_field("file", content, filename=f"clients-{n}.txt",
                           content_type="text/plain")
            return data

        await self._command(session, "upload", f"/v1/items/{item}/evidence", hr,
                            form=form, stream_id=item)

    async def _command(self, session: aiohttp.ClientSession, name: str, path: str,
                       token: str, json: dict[str, Any] | None = None,
                       form: Callable[[], aiohttp.FormData] | None = None,
                       stream_id: str = "") -> dict[str, Any] | None:
        """Send until acknowledged (the document) or given up (None)."""
        op = Op(name, f"fault-{uuid.uuid4().hex}", stream_id=stream_id)
        self.ops.append(op)
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": op.key,
                   "X-Request-Id": op.key}
        deadline = time.monotonic() + self.give_up
        while time.monotonic() < deadline:
            base = self.target()
            if base is None:
                await asyncio.sleep(0.05)
                continue
            op.attempts += 1
            document = await self.send(session, base + path, headers, json, form, op)
            if document is not None or op.refused:
                return document
            await asyncio.sleep(0.05 * min(op.attempts, 10))
        return None

    async def send(self, session: aiohttp.ClientSession, url: str, headers: dict[str, str],
                    json: dict[str, Any] | None, form: Callable[[], aiohttp.FormData] | None,
                    op: Op) -> dict[str, Any] | None:
        """One attempt of ``op``: its document when acknowledged (``op`` says so), else
        None with the answer tallied."""
        began = time.monotonic()
        try:
            async with session.post(url, json=json, data=form() if form else None,
                                    headers=headers,
                                    timeout=aiohttp.ClientTimeout(total=self.timeout)) as reply:
                text = await reply.text()
                self.tally.answered(f"POST {reply.status}", began)
                if reply.status >= 300:
                    if reply.status == 503 and "Retry-After" not in reply.headers:
                        self.tally.without_retry_after += 1
                    self.tally.failed(str(reply.status), f"{reply.status} {text}")
                    if 400 <= reply.status < 500 and reply.status not in (408, 429) and not (
                            reply.status == 409 and '"title": "Conflict"' in text):
                        # a 409 Conflict is a concurrent write that won (the scheduler's
                        # reminder on the same case): sent again, decided on fresh state
                        op.refused = f"{reply.status} {text[:200]}"
                    return None
                document: dict[str, Any] = await reply.json(content_type=None)
                replayed = reply.headers.get("Idempotent-Replayed") == "true"
        except (aiohttp.ClientError, TimeoutError) as e:
            self.tally.answered(f"POST {type(e).__name__}", began)
            self.tally.failed(type(e).__name__, repr(e))
            return None
        self.tally.successes.append(time.monotonic())
        op.acknowledged, op.replayed = True, replayed
        op.events = {e["id"]: e["hash"] for e in document.get("events", [])}
        op.sha256 = str(document.get("sha256", ""))
        return document
