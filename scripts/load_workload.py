"""What scripts/load.py's clients do: a morning's mix of reads (the HR board, inboxes, items,
case boards, departures; README "Read models" and "The HTTP API") and commands, each request
timed and recorded under its route.

Steady (the default): the commands are comments, evidence uploads and the handovers' own work
(scripts/load_handover.py): leavers submitting items with the files their checklist lines ask
for, receivers and department queues confirming (now and then rejecting, the leaver
resubmitting), HR waiving optional items, every signatory signing the handover confirmation,
HR closing finished cases; for each case closed a new leaver's case is started, submitted,
approved (which applies the checklists) and its board read, so the open cases and items
stay level. Reads go to the open cases (a closed one until its replacement is open).

Growing (``steady=False``, load.py ``--growing``): comments, uploads, and new departures
submitted and approved that nobody ever works: the open items grow for the whole run."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from load_handover import Action, Handover, Progress, checklist_lines, part_of
from load_population import DEPARTMENTS, Case, Population, principal_of
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
# The steady workload's commands: "handover" is a case's next step (scripts/load_handover.py),
# recorded under the route it takes (submit, confirm, reject, waive, upload, signature, close,
# or a new case's start, submission, approval).
STEADY_COMMANDS: Mix = (("POST /v1/items/{id}/comments", 20),
                        ("POST /v1/items/{id}/evidence", 10), ("handover", 70))
# How many random open cases a handover step tries before commenting instead.
TRIES = 8


@dataclass
class NewCase:
    """A case the steady workload starts: its people, and how far it is (start, submit,
    approve, learn: its board read for its items)."""

    leaver: str
    hr: str
    manager: str
    successor: str
    stage: str = "start"
    departure_id: str = ""
    after_event: str = ""
    busy: bool = False


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
    steady: bool = True
    owed: int = 0  # cases closed whose replacement is not started yet
    new_cases: list[NewCase] = field(default_factory=list)
    retired: list[Case] = field(default_factory=list)  # closed, read until replaced
    done: Counter[str] = field(default_factory=Counter)  # the handover steps that succeeded

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
        if self.steady:
            self._commands = {"POST /v1/items/{id}/comments": self._steady_comment,
                              "POST /v1/items/{id}/evidence": self._steady_upload,
                              "handover": self._handover}
            self._lines = checklist_lines()

    async def step(self) -> None:
        if self.rng.random() < self.read_share:
            table, routes = self._reads, READS
        else:
            table, routes = self._commands, STEADY_COMMANDS if self.steady else COMMANDS
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

    # ------------------------------------------------------------------ steady: handovers

    def _open(self) -> list[Handover]:
        return list(self.population.handovers.values())

    def _case(self, departure_id: str) -> Case:
        return next(c for c in self.population.cases if str(c.departure_id) == departure_id)

    async def _steady_comment(self) -> None:
        """A party comments on an item of a case still handing over (never one whose items
        are all done: its close must not meet a comment)."""
        handing = [h for h in self._open() if not h.done()]
        if not handing:
            if not await self._handover_step():
                await self._hr_board()
            return
        handover = self.rng.choice(handing)
        case = self._case(handover.departure_id)
        who, item = (case.successor, self.rng.choice(case.received)) \
            if case.received and self.rng.random() < 0.5 else \
            (case.leaver, self.rng.choice(case.items))
        handover.inflight += 1
        try:
            text = f"Checked with {who} at {dt.datetime.now(dt.UTC):%H:%M:%S}: in progress."
            await self._call("POST /v1/items/{id}/comments", who, "POST",
                             f"/v1/items/{item}/comments", json={"text": text})
        finally:
            handover.inflight -= 1

    async def _steady_upload(self) -> None:
        """The giver of an item not yet submitted adds a file to it (cited when it is)."""
        for _ in range(TRIES if self._open() else 0):
            handover = self.rng.choice(self._open())
            items = [i for i in handover.workable()
                     if handover.progress[i].state in ("open", "rejected")
                     and not handover.parts[i].direct]
            if items:
                item = self.rng.choice(items)
                await self._act(handover, Action("upload", handover.parts[item].giver, item))
                return
        await self._handover()

    async def _handover(self) -> None:
        if not await self._handover_step():
            await self._steady_comment()

    async def _handover_step(self) -> bool:
        """The next step of the handovers: finished cases signed and closed first (HR closes
        them as they finish), then the cases started to replace closed ones, then an item of
        a random open case; False when none can be taken now."""
        for handover in self._open():
            if handover.done():
                action = handover.next_action(self.rng)
                if action is not None:
                    await self._act(handover, action)
                    return True
        if self.owed:
            self.owed -= 1
            self.new_cases.append(self._new_case())
        for new in self.new_cases:
            if not new.busy:
                await self._advance(new)
                return True
        for _ in range(TRIES if self._open() else 0):
            handover = self.rng.choice(self._open())
            action = handover.next_action(self.rng)
            if action is not None:
                await self._act(handover, action)
                return True
        return False

    async def _act(self, handover: Handover, action: Action) -> None:
        """Send ``action`` on ``handover`` (its item or the case held meanwhile) and record
        what it did."""
        progress = handover.progress[action.item] if action.item else None
        if progress is not None:
            progress.busy = True
            handover.inflight += 1
        else:
            handover.busy = True
        try:
            answer = await self._send(handover, action, progress)
            if answer is None:
                if action.kind == "sign":  # read the statement again, as it stands now
                    handover.statement = None
                return
            self.done[action.kind] += 1
            handover.after(action, answer)
            if action.kind == "statement":
                handover.statement = str(answer["sha256"])
                handover.unsigned = [str(u) for u in answer["unsigned"]]
            elif action.kind == "sign":
                handover.unsigned.remove(action.who)
            elif action.kind == "close":
                del self.population.handovers[uuid.UUID(handover.departure_id)]
                self.retired.append(self._case(handover.departure_id))
                self.owed += 1
        finally:
            if progress is not None:
                progress.busy = False
                handover.inflight -= 1
            else:
                handover.busy = False

    async def _send(self, handover: Handover, action: Action,
                    progress: Progress | None) -> dict[str, Any] | None:
        """The request for ``action``; its answer (a command's result, an upload's file, the
        confirmation statement), None when it failed."""
        who = principal_of(action.who)
        departure = f"/v1/departures/{handover.departure_id}"
        if action.kind == "statement":
            return await self._call("GET /v1/departures/{id}/confirmation", who, "GET",
                                    f"{departure}/confirmation")
        if action.kind in ("sign", "close"):
            route, path, body = (
                ("POST /v1/departures/{id}/confirmation/signatures",
                 f"{departure}/confirmation/signatures",
                 {"statement_sha256": handover.statement}) if action.kind == "sign" else
                ("POST /v1/departures/{id}/close", f"{departure}/close",
                 {"note": "Handed over, confirmation signed (load)"}))
            answer = await self._call(route, who, "POST", path, json=body)
            return None if answer is None else dict(answer["result"])
        item = f"/v1/items/{action.item}"
        if action.kind == "upload":
            size = self.rng.randint(*self.upload_kib) * 1024
            form = aiohttp.FormData()
            form.add_field("file", self.rng.randbytes(size), content_type="application/pdf",
                           filename=f"handover-{self.rng.randrange(10**6):06d}.pdf")
            return await self._call("POST /v1/items/{id}/evidence", who, "POST",
                                    f"{item}/evidence", data=form)
        bodies: dict[str, dict[str, Any]] = {
            "submit": {"note": "Handed over: see the files",
                       "evidence": progress.uploads if progress else []},
            "confirm": {"note": "Checked and received"},
            "reject": {"reason": "Incomplete: the latest figures are missing"},
            "waive": {"reason": "Not applicable to this leaver"}}
        answer = await self._call(f"POST /v1/items/{{id}}/{action.kind}", who, "POST",
                                  f"{item}/{action.kind}", json=bodies[action.kind])
        return None if answer is None else dict(answer["result"])

    def _new_case(self) -> NewCase:
        self.started += 1
        return NewCase(f"leaver.load.{self.started}.{uuid.uuid4().hex[:6]}",
                       self.rng.choice(self.population.hrs()),
                       self.rng.choice(self.population.managers()),
                       self.rng.choice(self.population.successors()))

    async def _advance(self, new: NewCase) -> None:
        """A started case's next step: the leaver's principal and token and the departure;
        its submission; its approval (which applies the checklists); HR reading its board,
        after which it is worked as any open case."""
        new.busy = True
        try:
            if new.stage == "start":
                departure = await self._start_case(new)
                if departure is not None:
                    new.departure_id, new.stage = departure, "submit"
            elif new.stage == "submit":
                if await self._call("POST /v1/departures/{id}/submit", new.hr, "POST",
                                    f"/v1/departures/{new.departure_id}/submit",
                                    json={}) is not None:
                    new.stage = "approve"
            elif new.stage == "approve":
                approved = await self._call(
                    "POST /v1/departures/{id}/approvals/0/approve", new.manager, "POST",
                    f"/v1/departures/{new.departure_id}/approvals/0/approve",
                    json={"comment": "ok"})
                if approved is not None:
                    new.after_event, new.stage = str(approved["events"][-1]["id"]), "learn"
            elif await self._learn(new):
                self.new_cases.remove(new)
                self.done["start"] += 1
        finally:
            new.busy = False

    async def _start_case(self, new: NewCase) -> str | None:
        operator = self.population.operator
        if new.leaver not in self.population.tokens:
            if await self._call("POST /v1/principals", operator, "POST", "/v1/principals",
                                json={"id": new.leaver, "name": f"Leaver {new.leaver}",
                                      "roles": ["employee"]}) is None:
                return None
            issued = await self._call("POST /v1/principals/{id}/tokens", operator, "POST",
                                      f"/v1/principals/{new.leaver}/tokens",
                                      json={"label": "load"})
            if issued is None:
                return None
            self.population.tokens[new.leaver] = str(issued["token"])
        today = dt.date.today()
        body = {"leaver": {"id": new.leaver, "name": f"Leaver {new.leaver}",
                           "department": "Sales", "position": "Account manager",
                           "role_family": "sales"},
                "manager_id": new.manager, "hr_owner_id": new.hr,
                "successor_id": new.successor, "notice_date": today.isoformat(),
                "last_working_day": (today + dt.timedelta(days=30)).isoformat(),
                "reason": "resigned (load)",
                "approval_chain": [{"name": "manager", "approver_id": new.manager}]}
        started = await self._call("POST /v1/departures", new.hr, "POST", "/v1/departures",
                                   json=body)
        return None if started is None else str(started["result"]["departure_id"])

    async def _learn(self, new: NewCase) -> bool:
        """HR reads the new case's board (once it has the approval) for its items."""
        board = await self._call(
            "GET /v1/boards/departures/{id}", new.hr, "GET",
            f"/v1/boards/departures/{new.departure_id}?after_event={new.after_event}")
        if board is None:
            return False
        docs = [d for items in board["categories"].values() for d in items]
        parts = {str(d["id"]): part_of(str(d["id"]), str(d["title"]), str(d["giver_id"]),
                                       [str(s) for s in d["signers"]],
                                       [str(r) for r in d["requires"]], bool(d["mandatory"]),
                                       self._lines) for d in docs}
        departure = uuid.UUID(new.departure_id)
        self.population.handovers[departure] = Handover(
            new.departure_id, new.hr, parts, {i: Progress() for i in parts})
        if self.retired:  # read until its replacement is open, so reads always find one
            self.population.cases.remove(self.retired.pop(0))
        self.population.cases.append(Case(
            departure, tuple(uuid.UUID(str(d["id"])) for d in docs
                             if d["giver_id"] == new.leaver),
            tuple(uuid.UUID(str(d["id"])) for d in docs if d["receiver"] == new.successor),
            new.hr, new.manager, new.successor, new.leaver))
        return True
