"""What scripts/load.py's clients do: a morning's mix of reads (the HR board, inboxes, items,
case boards, departures; README "Read models" and "The HTTP API") and commands (comments,
evidence uploads, new leavers and their departures, submitted and approved), each request
timed and recorded under its route."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from load_population import DEPARTMENTS, Population
from load_record import Recorder

# Reads: (route, weight); commands likewise. A command whose follow-up queue is empty (no
# departure waiting to be submitted or approved) comments instead.
Mix = tuple[tuple[str, int], ...]
READS: Mix = (("GET /v1/inbox", 25), ("GET /v1/queues/{department}", 5),
              ("GET /v1/items/{id}", 25), ("GET /v1/boards/hr", 15),
              ("GET /v1/boards/departures/{id}", 15), ("GET /v1/departures/{id}", 10),
              ("GET /v1/departures", 5))
COMMANDS: Mix = (("POST /v1/items/{id}/comments", 40), ("POST /v1/items/{id}/evidence", 25),
            ("POST /v1/departures", 15), ("POST /v1/departures/{id}/submit", 10),
            ("POST /v1/departures/{id}/approvals/0/approve", 10))


@dataclass
class Workload:
    """One shared workload; ``step`` makes one request (a new departure makes two: its
    leaver's principal, then the case)."""

    session: aiohttp.ClientSession
    population: Population
    recorder: Recorder
    read_share: float = 0.8
    upload_kib: tuple[int, int] = (8, 64)
    seed: int = 13
    rng: random.Random = field(init=False)
    to_submit: deque[tuple[str, str, str]] = field(default_factory=deque)  # departure, hr, mgr
    to_approve: deque[tuple[str, str]] = field(default_factory=deque)  # (departure, manager)
    started: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self._reads: dict[str, Callable[[], Awaitable[None]]] = {
            "GET /v1/inbox": self._inbox, "GET /v1/queues/{department}": self._queue,
            "GET /v1/items/{id}": self._item,
            "GET /v1/boards/hr": self._hr_board,
            "GET /v1/boards/departures/{id}": self._case_board,
            "GET /v1/departures/{id}": self._departure, "GET /v1/departures": self._list}
        self._commands: dict[str, Callable[[], Awaitable[None]]] = {
            "POST /v1/items/{id}/comments": self._comment,
            "POST /v1/items/{id}/evidence": self._upload,
            "POST /v1/departures": self._start,
            "POST /v1/departures/{id}/submit": self._submit,
            "POST /v1/departures/{id}/approvals/0/approve": self._approve}

    async def step(self) -> None:
        if self.rng.random() < self.read_share:
            table, routes = self._reads, READS
        else:
            table, routes = self._commands, COMMANDS
        route = self.rng.choices([r for r, _ in routes], [w for _, w in routes])[0]
        await table[route]()

    # ------------------------------------------------------------------ requests

    async def _call(self, route: str, principal: str, method: str, path: str,
                    **kwargs: Any) -> dict[str, Any] | None:
        """Send one request as ``principal``; record its latency and outcome; the JSON body
        of a 2xx answer (None otherwise)."""
        headers = {"Authorization": f"Bearer {self.population.tokens[principal]}"}
        if method == "POST":
            headers["Idempotency-Key"] = str(uuid.uuid4())
        kind = "read" if method == "GET" else "command"
        t0 = time.perf_counter()
        try:
            async with self.session.request(method, path, headers=headers, **kwargs) as reply:
                body = await reply.read()
                status = reply.status
        except (aiohttp.ClientError, TimeoutError) as e:
            self.recorder.record(route, kind, time.perf_counter() - t0, f"{type(e).__name__}")
            return None
        elapsed = time.perf_counter() - t0
        if not 200 <= status < 300:
            self.recorder.record(route, kind, elapsed, f"{status} {body[:200]!r}")
            return None
        self.recorder.record(route, kind, elapsed)
        document: dict[str, Any] = json.loads(body) if body else {}
        return document

    def _item_party(self) -> tuple[str, uuid.UUID]:
        """An item and who works on it: its giver (the leaver) or receiver (the successor)."""
        case = self.population.pick(self.rng)
        if case.received and self.rng.random() < 0.5:
            return case.successor, self.rng.choice(case.received)
        return case.leaver, self.rng.choice(case.items)

    async def _inbox(self) -> None:
        """Everyone reads their own inbox; labelled by who reads it (an HR owner's lists
        their cases' items, a leaver's only their own)."""
        case = self.population.pick(self.rng)
        who, role = self.rng.choice(((case.successor, "successor"), (case.leaver, "leaver"),
                                     (case.manager, "manager"), (case.hr, "hr")))
        await self._call(f"GET /v1/inbox ({role})", who, "GET", "/v1/inbox")

    async def _queue(self) -> None:
        department, worker = self.rng.choice(sorted(DEPARTMENTS.items()))
        await self._call("GET /v1/queues/{department}", worker, "GET",
                         f"/v1/queues/{department}")

    async def _item(self) -> None:
        who, item = self._item_party()
        await self._call("GET /v1/items/{id}", who, "GET", f"/v1/items/{item}")

    async def _hr_board(self) -> None:
        await self._call("GET /v1/boards/hr", self.rng.choice(self.population.hrs()), "GET",
                         "/v1/boards/hr")

    async def _case_board(self) -> None:
        case = self.population.pick(self.rng)
        await self._call("GET /v1/boards/departures/{id}",
                         self.rng.choice((case.leaver, case.hr)), "GET",
                         f"/v1/boards/departures/{case.departure_id}")

    async def _departure(self) -> None:
        case = self.population.pick(self.rng)
        await self._call("GET /v1/departures/{id}", self.rng.choice((case.hr, case.manager)),
                         "GET", f"/v1/departures/{case.departure_id}")

    async def _list(self) -> None:
        await self._call("GET /v1/departures", self.rng.choice(self.population.hrs()), "GET",
                         "/v1/departures?limit=50")

    # ------------------------------------------------------------------ commands

    async def _comment(self) -> None:
        who, item = self._item_party()
        text = f"Checked with {who} at {dt.datetime.now(dt.UTC):%H:%M:%S}: still in progress."
        await self._call("POST /v1/items/{id}/comments", who, "POST",
                         f"/v1/items/{item}/comments", json={"text": text})

    async def _upload(self) -> None:
        case = self.population.pick(self.rng)
        size = self.rng.randint(*self.upload_kib) * 1024
        form = aiohttp.FormData()
        form.add_field("file", self.rng.randbytes(size), content_type="application/pdf",
                       filename=f"handover-{self.rng.randrange(10**6):06d}.pdf")
        await self._call("POST /v1/items/{id}/evidence", case.leaver, "POST",
                         f"/v1/items/{self.rng.choice(case.items)}/evidence", data=form)

    async def _start(self) -> None:
        """A new leaver (the operator adds the principal) and HR starts their departure,
        naming a successor so the approval applies the sales checklist."""
        self.started += 1
        leaver = f"leaver.load.{self.started}.{uuid.uuid4().hex[:6]}"
        made = await self._call("POST /v1/principals", self.population.operator, "POST",
                                "/v1/principals", json={"id": leaver, "name": f"Leaver {leaver}",
                                                        "roles": ["employee"]})
        if made is None:
            return
        hr = self.rng.choice(self.population.hrs())
        manager = self.rng.choice(self.population.managers())
        today = dt.date.today()
        body = {"leaver": {"id": leaver, "name": f"Leaver {leaver}", "department": "Sales",
                           "position": "Account manager", "role_family": "sales"},
                "manager_id": manager, "hr_owner_id": hr,
                "successor_id": self.rng.choice(self.population.successors()),
                "notice_date": today.isoformat(),
                "last_working_day": (today + dt.timedelta(days=30)).isoformat(),
                "reason": "resigned (load)",
                "approval_chain": [{"name": "manager", "approver_id": manager}]}
        started = await self._call("POST /v1/departures", hr, "POST", "/v1/departures",
                                   json=body)
        if started is not None:
            departure = str(started["result"]["departure_id"])
            self.to_submit.append((departure, hr, manager))

    async def _submit(self) -> None:
        if not self.to_submit:
            await self._comment()
            return
        departure, hr, manager = self.to_submit.popleft()
        if await self._call("POST /v1/departures/{id}/submit", hr, "POST",
                            f"/v1/departures/{departure}/submit", json={}) is not None:
            self.to_approve.append((departure, manager))

    async def _approve(self) -> None:
        if not self.to_approve:
            await self._comment()
            return
        departure, manager = self.to_approve.popleft()
        await self._call("POST /v1/departures/{id}/approvals/0/approve", manager, "POST",
                         f"/v1/departures/{departure}/approvals/0/approve",
                         json={"comment": "ok"})
