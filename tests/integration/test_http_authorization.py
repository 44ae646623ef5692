"""Who may do what, over HTTP: every role and relation × every action, on SQLite and PostgreSQL.

The grid below is the specification. ``Y`` means the actor gets the action's success status,
``.`` means 403, ``-`` means the 404 an absent target gets (a write refused to someone who may
not even read its target tells them nothing, not even that it exists) — and a refusal appends
nothing. Every case is designed so that authorization is
the only possible reason for a refusal: a denied actor aims at an object in exactly the state
the action needs, and an allowed actor that changes state gets a fresh object of its own. One
world (server, cast, shared departure and items) is prepared per store and reused.
"""

from __future__ import annotations

import base64
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from ledger.aggregates.departure import Departure
from ledger.aggregates.item import HandoverItem
from ledger.service import commands as c
from ledger.service.context import Actor
from tests.integration.http_fixtures import (
    HR,
    LEAVER,
    MANAGER,
    Api,
    Reply,
    departure_body,
    postgres_database,
    serve,
)
from tests.support.confirmation import sign_confirmation

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass(frozen=True)
class Persona:
    """A principal of the cast acting in one role, in one relation to the shared departure."""

    principal: str
    role: str


PERSONAS = {
    "hr": Persona("hr.sun", "hr"),  # also the departure's HR owner
    "leaver": Persona("wang.lei", "employee"),
    "manager": Persona("li.qiang", "employee"),  # also the approver of the only step
    "successor": Persona("zhao.min", "employee"),
    "stranger": Persona("stranger", "employee"),
    "it": Persona("it.qian", "it"),
    "finance": Persona("fin.zhou", "finance"),
    "admin": Persona("adm.wu", "admin"),
    "system": Persona("system.iam", "system"),
    "legal": Persona("legal.x", "legal"),
    "auditor": Persona("audit.x", "auditor"),
    "operator": Persona("admin", "operator"),
}


class World:
    """The served runtime plus objects to aim at, made through the ledger (fast, no HTTP):
    ``shared`` ones whose state no case changes, ``fresh`` ones for allowed state changes."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self._shared: dict[str, str] = {}

    async def run(self, command: c.Model, actor: Actor = HR) -> dict[str, Any]:
        outcome = await self.api.runtime.ledger.execute(command, actor)
        return dict(outcome.result)

    async def target(self, target: Target, fresh: bool) -> str:
        if fresh:
            return await target.make(self)
        if target.name not in self._shared:
            self._shared[target.name] = await target.make(self)
        return self._shared[target.name]

    async def draft(self, chain: bool = True) -> str:
        started = await self.run(c.StartDeparture.model_validate(departure_body(chain=chain)))
        return str(started["departure_id"])

    async def pending(self) -> str:
        departure_id = await self.draft()
        await self.run(c.SubmitForApproval(departure_id=uuid.UUID(departure_id)))
        return departure_id

    async def approved(self) -> str:
        departure_id = await self.draft(chain=False)
        await self.run(c.SubmitForApproval(departure_id=uuid.UUID(departure_id)))
        return departure_id

    async def handing_over(self) -> str:
        """Approved by the manager through the chain, with one optional item: closable."""
        departure_id = await self.pending()
        await self.run(c.ApproveStep(departure_id=uuid.UUID(departure_id), step=0), MANAGER)
        await self.item("zhao.min", departure_id, mandatory=False)
        await sign_confirmation(self.api.runtime.ledger, departure_id)
        return departure_id

    async def with_queue_items(self) -> str:
        """A closable case that also has one open item for each department queue (whose
        members therefore read the case whatever the other cases did before)."""
        departure_id = await self.handing_over()
        for queue in ("dept:it", "dept:finance", "dept:admin"):
            await self.item(queue, departure_id)
        return departure_id

    async def item(self, receiver: str, departure_id: str | None = None,
                   mandatory: bool = True) -> str:
        """An open item of the shared departure (or of ``departure_id``)."""
        departure_id = departure_id or await self.target(THE_DEPARTURE, fresh=False)
        added = await self.run(c.AddItem(departure_id=uuid.UUID(departure_id),
                                         category="documents", title="项目文档",
                                         receiver=receiver, mandatory=mandatory))
        return str(added["item_id"])

    async def submitted(self, receiver: str) -> str:
        item_id = await self.item(receiver)
        await self.run(c.SubmitItem(item_id=uuid.UUID(item_id), note="handed over"), LEAVER)
        return item_id

    async def clearance_item(self, template_item_key: str) -> str:
        """An open item of the clearance checklist applied to a fresh approved departure."""
        departure_id = await self.approved()
        applied = await self.run(c.ApplyTemplate(departure_id=uuid.UUID(departure_id),
                                                 template_key="clearance"))
        for item_id in applied["item_ids"]:
            item = await self.api.runtime.ledger.load(HandoverItem, str(item_id))
            if item.template_item_key == template_item_key:
                return str(item_id)
        raise AssertionError(f"clearance has no {template_item_key}")

    async def confirmed_case(self) -> str:
        """A case handing over whose item zhao.min confirmed (a signatory of its handover
        confirmation, who may not read the case itself)."""
        departure_id = await self.pending()
        await self.run(c.ApproveStep(departure_id=uuid.UUID(departure_id), step=0), MANAGER)
        item_id = uuid.UUID(await self.item("zhao.min", departure_id))
        await self.run(c.SubmitItem(item_id=item_id, note="handed over"), LEAVER)
        await self.run(c.ConfirmItem(item_id=item_id), Actor("zhao.min", "employee"))
        return departure_id

    async def dispute(self) -> str:
        """A dispute the successor raised about that item, the leaver's side stated (as HR's
        finding requires under separation of duties)."""
        departure_id = await self.confirmed_case()
        departure = await self.api.runtime.ledger.load(Departure, departure_id)
        raised = await self.run(c.RaiseDispute(
            departure_id=uuid.UUID(departure_id), item_ids=[uuid.UUID(departure.item_ids[0])],
            claim="客户最新需求被隐瞒"), Actor("zhao.min", "employee"))
        await self.run(c.AddDisputeStatement(dispute_id=uuid.UUID(str(raised["dispute_id"])),
                                             text="已如实交接", evidence=[]), LEAVER)
        return str(raised["dispute_id"])

    async def first_event(self) -> str:
        departure_id = await self.target(THE_DEPARTURE, fresh=False)
        entries = await self.api.runtime.ledger.entries(uuid.UUID(departure_id))
        await self.api.sequence()
        return str(entries[0].event_id)


@dataclass(frozen=True)
class Target:
    """What a path names, and how to make one."""

    name: str
    make: Callable[[World], Awaitable[str]]


def open_item(receiver: str) -> Target:
    return Target(f"open item for {receiver}", lambda w: w.item(receiver))


def submitted_item(receiver: str) -> Target:
    return Target(f"submitted item for {receiver}", lambda w: w.submitted(receiver))


def clearance_item(template_item_key: str) -> Target:
    return Target(f"clearance item {template_item_key}",
                  lambda w: w.clearance_item(template_item_key))


NOTHING = Target("nothing", lambda w: _nothing())
THE_DEPARTURE = Target("the departure", World.handing_over)
DRAFT = Target("draft departure", World.draft)
PENDING = Target("pending departure", World.pending)
APPROVED = Target("approved departure", World.approved)
FIRST_EVENT = Target("first event of the departure", World.first_event)
CONFIRMED_CASE = Target("case with an item the successor confirmed", World.confirmed_case)
DISPUTE = Target("the successor's dispute", World.dispute)
QUEUED_CASE = Target("a case with an item for each queue", World.with_queue_items)


async def _nothing() -> str:
    return ""


@dataclass(frozen=True)
class Action:
    """One request: method, path (``{id}`` is the target, ``{me}`` the actor's principal id),
    a body made per attempt, and the status an allowed actor gets."""

    method: str
    path: str
    ok: int
    target: Target = NOTHING
    body: Callable[[], Any] = field(default=lambda: None)
    mutates: bool = False  # an allowed attempt changes the target's state: use a fresh one
    upload: bool = False


def _principal() -> dict[str, Any]:
    return {"id": f"new.{uuid.uuid4().hex[:12]}", "name": "新人", "roles": ["employee"]}


def _key() -> dict[str, Any]:
    return {"public_key": base64.b64encode(os.urandom(32)).decode()}


def _template() -> dict[str, Any]:
    return {"key": f"matrix-{uuid.uuid4().hex[:12]}", "role_family": "technical",
            "name": "Matrix", "label": "矩阵", "items": [{
                "key": "badge", "category": "assets", "title": "Return the badge",
                "label": "工牌", "acceptance_criteria": "badge returned",
                "receiver": "dept:admin", "mandatory": True, "priority": "normal",
                "due_offset_days": 0}]}


D = "/v1/departures/{id}"
I = "/v1/items/{id}"  # noqa: E741
MISSING = "00000000-0000-4000-8000-000000000000"
SUCCESSOR_ITEM = open_item("zhao.min")
ACTIONS: dict[str, Action] = {
    "start a departure": Action(
        "POST", "/v1/departures", 201, body=lambda: departure_body()),
    "submit a departure for approval": Action(
        "POST", D + "/submit", 200, DRAFT, mutates=True),
    "approve the current step": Action(
        "POST", D + "/approvals/0/approve", 200, PENDING, mutates=True),
    "reject the current step": Action(
        "POST", D + "/approvals/0/reject", 200, PENDING, lambda: {"reason": "no"}, True),
    "withdraw a departure": Action(
        "POST", D + "/withdraw", 200, DRAFT, lambda: {"reason": "stays"}, True),
    "apply a checklist": Action(
        "POST", D + "/templates", 200, APPROVED, lambda: {"template_key": "clearance"}, True),
    "add an item": Action(
        "POST", D + "/items", 201, THE_DEPARTURE,
        lambda: {"category": "knowledge", "title": "SOP", "receiver": "zhao.min"}),
    "record a reminder": Action(
        "POST", D + "/reminders", 201, THE_DEPARTURE,
        lambda: {"to": "wang.lei", "item_ids": [], "channel": "email"}),
    "close a departure": Action(
        "POST", D + "/close", 200, Target("closable departure", World.handing_over),
        mutates=True),
    "hand over a departure": Action(
        "POST", D + "/hand-over", 200, THE_DEPARTURE,
        lambda: {"hr_owner_id": "hr.zhou", "reason": "on leave"}, True),
    "submit an item on the giver's behalf": Action(
        "POST", I + "/submit", 200, SUCCESSOR_ITEM, lambda: {"on_behalf": True}, True),
    "submit an item as oneself": Action(
        "POST", I + "/submit", 200, SUCCESSOR_ITEM, lambda: {"note": "done"}, True),
    "confirm the successor's item": Action(
        "POST", I + "/confirm", 200, submitted_item("zhao.min"), mutates=True),
    "confirm a dept:it item": Action(
        "POST", I + "/confirm", 200, submitted_item("dept:it"), mutates=True),
    "confirm a dept:finance item": Action(
        "POST", I + "/confirm", 200, submitted_item("dept:finance"), mutates=True),
    "confirm a dept:admin item": Action(
        "POST", I + "/confirm", 200, submitted_item("dept:admin"), mutates=True),
    "confirm the manager's item": Action(
        "POST", I + "/confirm", 200, submitted_item("li.qiang"), mutates=True),
    "confirm the HR owner's item": Action(
        "POST", I + "/confirm", 200, submitted_item("hr.sun"), mutates=True),
    "reject the successor's item": Action(
        "POST", I + "/reject", 200, submitted_item("zhao.min"), lambda: {"reason": "thin"},
        True),
    "reject a dept:it item": Action(
        "POST", I + "/reject", 200, submitted_item("dept:it"), lambda: {"reason": "laptop?"},
        True),
    "waive an item": Action(
        "POST", I + "/waive", 200, SUCCESSOR_ITEM, lambda: {"reason": "not needed"}, True),
    "reassign an item": Action(
        "POST", I + "/reassign", 200, SUCCESSOR_ITEM,
        lambda: {"receiver": "dept:admin", "reason": "admin keeps it"}, True),
    "comment on the successor's item": Action(
        "POST", I + "/comments", 201, SUCCESSOR_ITEM, lambda: {"text": "any news?"}),
    "comment on a dept:it item": Action(
        "POST", I + "/comments", 201, open_item("dept:it"), lambda: {"text": "laptop?"}),
    "record a system's report": Action(
        "POST", I + "/external-evidence", 201, SUCCESSOR_ITEM,
        lambda: {"source": "IAM", "kind": "account_disabled"}),
    "record a report on a dept:it item": Action(
        "POST", I + "/external-evidence", 201, open_item("dept:it"),
        lambda: {"source": "CMDB", "kind": "laptop_collected"}),
    "report an account disabled on an item it satisfies": Action(
        "POST", I + "/external-evidence", 201, clearance_item("it-revoke-vpn-sso"),
        lambda: {"source": "IAM", "kind": "account_disabled"}, True),
    "confirm an account item directly": Action(
        "POST", I + "/confirm", 200, clearance_item("it-revoke-email"), mutates=True),
    "upload evidence": Action("POST", I + "/evidence", 201, SUCCESSOR_ITEM, upload=True),
    "define a checklist": Action("POST", "/v1/templates", 200, body=_template),
    "list departures": Action("GET", "/v1/departures", 200),
    # (A case with queue items of its own: IT, finance and admin read it through them, whichever
    # cases of the grid ran before on this worker.)
    "read the departure": Action("GET", D, 200, QUEUED_CASE),
    "read the successor's item": Action("GET", I, 200, SUCCESSOR_ITEM),
    "read a dept:it item": Action("GET", I, 200, open_item("dept:it")),
    "read the departure's events": Action("GET", "/v1/streams/{id}/events", 200,
                                          THE_DEPARTURE),
    "read the successor's item's events": Action("GET", "/v1/streams/{id}/events", 200,
                                                 SUCCESSOR_ITEM),
    "read one event of the departure": Action("GET", "/v1/events/{id}", 200, FIRST_EVENT),
    "read that event's proof": Action("GET", "/v1/events/{id}/proof", 200, FIRST_EVENT),
    "read the statement to sign": Action("GET", I + "/confirmation-statement", 200,
                                         submitted_item("zhao.min")),
    "list checklists": Action("GET", "/v1/templates", 200),
    "create a principal": Action("POST", "/v1/principals", 201, body=_principal),
    "issue a token": Action("POST", "/v1/principals/stranger/tokens", 201,
                            body=lambda: {"label": "matrix"}),
    "register one's own key": Action("POST", "/v1/principals/{me}/keys", 201, body=_key),
    "register a key for the successor": Action("POST", "/v1/principals/zhao.min/keys", 201,
                                               body=_key),
    "read the handover confirmation": Action("GET", D + "/confirmation", 200, CONFIRMED_CASE),
    "read the dispute": Action("GET", "/v1/disputes/{id}", 200, DISPUTE),
    "read the dispute's events": Action("GET", "/v1/streams/{id}/events", 200, DISPUTE),
    "state in the dispute": Action("POST", "/v1/disputes/{id}/statements", 201, DISPUTE,
                                   lambda: {"text": "我方意见"}),
    "upload evidence to the dispute": Action("POST", "/v1/disputes/{id}/evidence", 201,
                                             DISPUTE, upload=True),
    "record the dispute's finding": Action(
        "POST", "/v1/disputes/{id}/finding", 200, DISPUTE,
        lambda: {"responsibility": "none", "reasons": "记录一致"}, True),
    # Added since the grid was first written (issue 13): read models, requests, access and
    # webhooks. (A departure's board, and sign-in links, answer from read models that this
    # world does not run: test_boards.py and test_http_sign_in_links.py hold their grids.)
    "read the departure's timeline": Action("GET", D + "/timeline", 200, QUEUED_CASE),
    "read the HR dashboard": Action("GET", "/v1/boards/hr", 200),
    "read one's inbox": Action("GET", "/v1/inbox", 200),
    "read the IT queue": Action("GET", "/v1/queues/it", 200),
    "read the handover report": Action("GET", "/v1/reports/handover", 200),
    "list departure requests": Action("GET", "/v1/departures/requests", 200),
    "list one's own tokens": Action("GET", "/v1/principals/{me}/tokens", 200),
    "list the leaver's tokens": Action("GET", "/v1/principals/wang.lei/tokens", 200),
    "read one's own access history": Action("GET", "/v1/principals/{me}/history", 200),
    "list webhooks": Action("GET", "/v1/webhooks", 200),
    "read webhook dead letters": Action("GET", "/v1/webhooks/dead-letters", 200),
}

# Issue 9: an item's giver may be a department queue (finance gives the final settlement), so
# IT, finance and admin may submit and upload in principle; an item their queue does not give
# is absent to them unless they read it otherwise. Whoever gives, receives or signs one of a
# case's items reads the case's view (the successor; IT, finance and admin through the
# clearance items of their queues), but not its raw entries.
# Columns in PERSONAS order. Y: allowed (the action's success status); .: 403; -: 404, the
# answer for an absent target.
GRID = """
                                      hr lvr mgr suc str it fin adm sys lgl aud op
start a departure                     Y  .   .   .   .   .  .   .   .   .   .   .
submit a departure for approval       Y  .   .   .   .   .  .   .   .   .   .   .
approve the current step              .  .   Y   -   -   .  .   .   .   .   .   .
reject the current step               .  .   Y   -   -   .  .   .   .   .   .   .
withdraw a departure                  Y  .   .   .   .   .  .   .   .   .   .   .
apply a checklist                     Y  .   .   .   .   .  .   .   .   .   .   .
add an item                           Y  .   Y   -   -   -  -   -   -   .   .   -
record a reminder                     Y  .   .   .   .   .  .   .   .   .   .   .
close a departure                     Y  .   .   .   .   .  .   .   .   .   .   .
hand over a departure                 Y  .   .   .   .   .  .   .   .   .   .   .
submit an item on the giver's behalf  Y  Y   .   .   -   -  -   -   .   .   .   .
submit an item as oneself             .  Y   .   .   -   -  -   -   .   .   .   .
confirm the successor's item          .  .   .   Y   -   -  -   -   .   .   .   .
confirm a dept:it item                .  .   .   -   -   Y  -   -   .   .   .   .
confirm a dept:finance item           .  .   .   -   -   -  Y   -   .   .   .   .
confirm a dept:admin item             .  .   .   -   -   -  -   Y   .   .   .   .
confirm the manager's item            .  .   Y   -   -   -  -   -   .   .   .   .
confirm the HR owner's item           Y  .   .   -   -   -  -   -   .   .   .   .
confirm an account item directly      .  .   .   -   -   Y  -   -   .   .   .   .
reject the successor's item           .  .   .   Y   -   -  -   -   .   .   .   .
reject a dept:it item                 .  .   .   -   -   Y  -   -   .   .   .   .
waive an item                         Y  .   .   .   .   .  .   .   .   .   .   .
reassign an item                      Y  .   Y   .   -   -  -   -   -   .   .   -
comment on the successor's item       Y  Y   Y   Y   -   -  -   -   -   .   .   -
comment on a dept:it item             Y  Y   Y   -   -   Y  -   -   -   .   .   -
record a system's report              .  .   .   .   .   -  -   -   -   .   .   .
record a report on a dept:it item     .  .   .   .   .   Y  -   -   -   .   .   .
report an account disabled on an item it satisfies .  .   .   .   .   Y  -   -   Y   .   .   .
upload evidence                       Y  Y   .   .   -   -  -   -   .   .   .   .
define a checklist                    Y  .   .   .   .   .  .   .   .   .   .   .
list departures                       Y  .   .   .   .   .  .   .   .   Y   Y   .
read the departure                    Y  Y   Y   Y   -   Y  Y   Y   -   Y   Y   -
read the successor's item             Y  Y   Y   Y   -   -  -   -   -   Y   Y   -
read a dept:it item                   Y  Y   Y   -   -   Y  -   -   -   Y   Y   -
read the departure's events           Y  Y   Y   -   -   -  -   -   -   Y   Y   -
read the successor's item's events    Y  Y   Y   Y   -   -  -   -   -   Y   Y   -
read one event of the departure       Y  Y   Y   -   -   -  -   -   -   Y   Y   -
read that event's proof               Y  Y   Y   -   -   -  -   -   -   Y   Y   -
read the statement to sign            .  .   .   Y   -   -  -   -   -   .   .   -
list checklists                       Y  Y   Y   Y   Y   Y  Y   Y   Y   Y   Y   Y
create a principal                    .  .   .   .   .   .  .   .   .   .   .   Y
issue a token                         .  .   .   .   .   .  .   .   .   .   .   Y
register one's own key                Y  Y   Y   Y   Y   Y  Y   Y   Y   Y   Y   Y
register a key for the successor      .  .   .   Y   .   .  .   .   .   .   .   .
read the handover confirmation        Y  Y   Y   Y   -   -  -   -   -   Y   Y   -
read the dispute                      Y  Y   Y   Y   -   -  -   -   -   Y   Y   -
read the dispute's events             Y  Y   Y   Y   -   -  -   -   -   Y   Y   -
state in the dispute                  Y  Y   Y   Y   -   -  -   -   -   .   .   -
upload evidence to the dispute        Y  Y   Y   Y   -   -  -   -   -   .   .   -
record the dispute's finding          Y  .   .   .   -   -  -   -   -   .   .   -
read the departure's timeline         Y  Y   Y   Y   -   Y  Y   Y   -   Y   Y   -
read the HR dashboard                 Y  .   .   .   .   .  .   .   .   Y   Y   .
read one's inbox                      Y  Y   Y   Y   Y   Y  Y   Y   Y   Y   Y   Y
read the IT queue                     Y  .   .   .   .   Y  .   .   .   .   .   .
read the handover report              Y  .   .   .   .   .  .   .   .   Y   Y   .
list departure requests               Y  Y   Y   Y   Y   .  .   .   .   .   .   .
list one's own tokens                 Y  Y   Y   Y   Y   Y  Y   Y   Y   Y   Y   Y
list the leaver's tokens              .  Y   .   .   .   .  .   .   .   .   .   Y
read one's own access history         Y  Y   Y   Y   Y   Y  Y   Y   Y   Y   Y   Y
list webhooks                         .  .   .   .   .   .  .   .   .   .   .   Y
read webhook dead letters             .  .   .   .   .   .  .   .   .   .   .   Y
"""


def parse_grid(grid: str) -> list[tuple[str, str, str]]:
    """(persona, action, mark) for every cell; the action names must match ACTIONS."""
    cases = []
    for line in grid.strip().splitlines()[1:]:
        words = line.split()
        name, marks = " ".join(words[:-len(PERSONAS)]), words[-len(PERSONAS):]
        assert name in ACTIONS, name
        assert set(marks) <= {"Y", ".", "-"}, line
        cases += [(p, name, m) for p, m in zip(PERSONAS, marks, strict=True)]
    assert {name for _, name, _ in cases} == set(ACTIONS)
    return cases


CASES = parse_grid(GRID)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(store_kind: str, tmp_path_factory: pytest.TempPathFactory
                ) -> AsyncIterator[World]:
    folder = tmp_path_factory.mktemp(f"http-authorization-{store_kind}")
    async with _database(store_kind, folder) as url, serve(url, folder) as api:
        yield World(api)


def _database(kind: str, folder: Path) -> contextlib.AbstractAsyncContextManager[str]:
    if kind == "postgres":
        return postgres_database()
    return contextlib.nullcontext(f"sqlite:///{folder}/l.db")


async def attempt(world: World, persona: str, action_name: str, fresh: bool) -> Reply:
    """Send ``action_name`` as ``persona`` at a shared or a fresh target."""
    return await send(world, persona, action_name, await aim(world, persona, action_name, fresh))


async def aim(world: World, persona: str, action_name: str, fresh: bool) -> str:
    """The path of ``action_name`` for ``persona``, at a shared or a fresh target."""
    action = ACTIONS[action_name]
    target_id = await world.target(action.target, fresh)
    return action.path.format(id=target_id, me=PERSONAS[persona].principal)


async def send(world: World, persona: str, action_name: str, path: str) -> Reply:
    """Send ``action_name`` to ``path`` as ``persona``, acting in the persona's role."""
    action, who = ACTIONS[action_name], PERSONAS[persona]
    if action.upload:
        form = aiohttp.FormData()
        form.add_field("file", b"minutes of the handover meeting", filename="minutes.txt",
                       content_type="text/plain")
        return await world.api.post(path, who.principal, role=who.role, data=form)
    return await world.api.call(action.method, path, who.principal, role=who.role,
                                json=action.body())


MEANING = {"Y": "may", ".": "may not", "-": "may not see the target to"}


@pytest.mark.parametrize(("persona", "action_name", "mark"), CASES,
                         ids=[f"{p} {MEANING[m]} {n}" for p, n, m in CASES])
async def test_each_role_and_relation_may_do_exactly_what_the_grid_says(
        world: World, persona: str, action_name: str, mark: str) -> None:
    action = ACTIONS[action_name]
    path = await aim(world, persona, action_name, fresh=mark == "Y" and action.mutates)
    before = await world.api.runtime.store.count_events()
    reply = await send(world, persona, action_name, path)
    if mark == "Y":
        assert reply.status == action.ok, reply.body
        return
    if mark == "-":
        target_id = path.split("/")[3]
        hidden = reply.problem(404)
        absent = await send(world, persona, action_name, path.replace(target_id, MISSING))
        # Word for word the answer for a target that does not exist (its id aside).
        assert hidden["detail"].replace(target_id, "ID") == absent.problem(404)[
            "detail"].replace(MISSING, "ID")
        assert hidden["detail"].endswith(" not found") or hidden["detail"] == "no such event"
    else:
        reply.problem(403)
    assert await world.api.runtime.store.count_events() == before


# --- the cases the brief names, spelled out ------------------------------------------------------

async def test_a_receiver_cannot_confirm_an_item_meant_for_someone_else(world: World) -> None:
    reply = await attempt(world, "manager", "confirm the successor's item", fresh=False)
    assert "only the receiver (zhao.min)" in reply.problem(403)["detail"]
    for action_name in ("confirm a dept:it item", "confirm the HR owner's item"):
        reply = await attempt(world, "successor", action_name, fresh=False)
        assert reply.problem(404)["detail"].endswith(" not found")  # nor learns they exist


async def test_the_leaver_cannot_confirm_their_own_item(world: World) -> None:
    reply = await attempt(world, "leaver", "confirm the successor's item", fresh=False)
    assert "only the receiver (zhao.min)" in reply.problem(403)["detail"]


async def test_finance_cannot_confirm_an_it_queue_item_nor_tell_it_from_an_absent_one(
        world: World) -> None:
    path = await aim(world, "finance", "confirm a dept:it item", fresh=False)
    reply = await send(world, "finance", "confirm a dept:it item", path)
    absent = await send(world, "finance", "confirm a dept:it item",
                        f"/v1/items/{MISSING}/confirm")
    item_id = path.split("/")[3]
    assert reply.problem(404)["detail"].replace(item_id, MISSING) == absent.problem(
        404)["detail"]
    assert reply.body.replace(item_id.encode(), MISSING.encode()) == absent.body


async def test_it_confirms_an_it_queue_item_in_its_own_name(world: World) -> None:
    reply = await attempt(world, "it", "confirm a dept:it item", fresh=True)
    assert reply.status == 200, reply.body
    item_id = reply.json()["result"]["item_id"]
    item = await world.api.get(f"/v1/items/{item_id}", "it.qian")
    assert (item.json()["state"], item.json()["confirmed_by"]) == ("confirmed", "it.qian")


async def test_a_stranger_cannot_read_a_departure_nor_learn_that_it_exists(
        world: World) -> None:
    reply = await attempt(world, "stranger", "read the departure", fresh=False)
    assert reply.problem(404)["detail"].endswith(" not found")
    assert "stranger" not in reply.body.decode() and "read" not in reply.body.decode()


async def test_the_leaver_reads_their_own_departure(world: World) -> None:
    reply = await attempt(world, "leaver", "read the departure", fresh=False)
    assert reply.status == 200
    assert reply.json()["leaver"]["id"] == "wang.lei"


async def test_a_principal_with_two_roles_acts_only_in_the_one_it_names(world: World) -> None:
    runtime = world.api.runtime
    principal_id = f"dual.{uuid.uuid4().hex[:8]}"
    created = await world.api.post("/v1/principals", "admin", json={
        "id": principal_id, "name": "双职", "roles": ["employee", "it"]})
    assert created.status == 201
    token = await world.api.post(f"/v1/principals/{principal_id}/tokens", "admin", json={})
    world.api.tokens[principal_id] = token.json()["token"]
    item_id = await world.submitted("dept:it")
    as_employee = await world.api.post(f"/v1/items/{item_id}/confirm", principal_id)
    as_employee.problem(404)  # as an employee, it may not even read a dept:it item
    before = await runtime.store.count_events()
    as_it = await world.api.post(f"/v1/items/{item_id}/confirm", principal_id, role="it")
    assert as_it.status == 200, as_it.body
    assert await runtime.store.count_events() == before + 1


async def test_a_leaver_in_it_cannot_confirm_their_own_it_clearance_item(world: World) -> None:
    principal_id = f"it.leaver.{uuid.uuid4().hex[:8]}"
    created = await world.api.post("/v1/principals", "admin", json={
        "id": principal_id, "name": "离职 IT", "roles": ["employee", "it"]})
    assert created.status == 201
    token = await world.api.post(f"/v1/principals/{principal_id}/tokens", "admin", json={})
    world.api.tokens[principal_id] = token.json()["token"]
    leaver = Actor(principal_id, "employee")
    departure = await world.run(c.StartDeparture.model_validate(
        departure_body(leaver=principal_id, chain=False)))
    departure_id = uuid.UUID(str(departure["departure_id"]))
    await world.run(c.SubmitForApproval(departure_id=departure_id))
    added = await world.run(c.AddItem(departure_id=departure_id, category="accounts_permissions",
                                      title="Revoke my VPN", receiver="dept:it"))
    item_id = uuid.UUID(str(added["item_id"]))
    await world.run(c.SubmitItem(item_id=item_id, note="please revoke"), leaver)
    reply = await world.api.post(f"/v1/items/{item_id}/confirm", principal_id, role="it")
    reply.problem(403)
