"""The seed scenarios (shared/seeds), played through the real use cases.

1. 王磊, sales manager: a client file disputed — rejected once for missing the client's latest
   needs, resubmitted with evidence, confirmed; every item done; both sides sign the handover
   confirmation and the case is closed; then the successor disputes the client file, both
   sides state, HR finds.
2. 张伟, on-site technician who left the site early: hands over remotely; items overdue,
   reminders and an escalation on record.
3. 陈静, COO: the five-module management handover, in progress.
4. 刘洋, engineering project lead whose documents lived only on a laptop: technical checklist,
   IT reports accounts disabled through the IAM integration.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

from ledger.aggregates.departure import Departure
from ledger.aggregates.item import HandoverItem
from ledger.service import commands as c
from ledger.service.context import Actor, RequestContext
from ledger.service.handover_statement import confirmation_due
from ledger.service.ledger import Ledger
from ledger.store.blob_port import BlobStore

HR = Actor("hr.sun", "hr", "孙丽 (HR)")
IT = Actor("it.qian", "it", "钱工 (IT)")
FINANCE = Actor("fin.zhou", "finance", "周会计 (Finance)")
ADMIN = Actor("adm.wu", "admin", "吴主管 (Admin)")
IAM = Actor("system.iam", "system", "IAM integration")
WEB = RequestContext(request_id="demo", ip="127.0.0.1", user_agent="ledger-demo", auth="cli")
DEPARTMENT_ACTORS = {"dept:it": IT, "dept:finance": FINANCE, "dept:admin": ADMIN}


@dataclass(frozen=True)
class Person:
    """A demo employee."""

    id: str
    name: str


async def _once(content: bytes) -> AsyncIterator[bytes]:
    yield content


def employee(person: Person) -> Actor:
    """The actor a demo employee acts as."""
    return Actor(person.id, "employee", person.name)


class Demo:
    """Plays scenarios against a ledger; ``today`` anchors due dates so some are overdue."""

    def __init__(self, ledger: Ledger, today: dt.date, blobs: BlobStore) -> None:
        self.ledger = ledger
        self.today = today
        self.blobs = blobs

    async def run(self, actor: Actor, command: c.Model) -> dict[str, object]:
        outcome = await self.ledger.execute(command, actor, WEB)
        return dict(outcome.result)

    async def open_case(self, leaver: c.Leaver, manager: Person, last_day_offset: int,
                        reason: str, templates: list[str], successor: Person) -> str:
        """Start, approve and apply checklists; return the departure id."""
        last_day = self.today + dt.timedelta(days=last_day_offset)
        started = await self.run(HR, c.StartDeparture(
            leaver=leaver, manager_id=manager.id, hr_owner_id=HR.id,
            notice_date=last_day - dt.timedelta(days=30), last_working_day=last_day,
            reason=reason, approval_chain=[c.ApprovalStep(name="直属上级 Line manager",
                                                          approver_id=manager.id)],
        ))
        departure_id = str(started["departure_id"])
        await self.run(HR, c.SubmitForApproval(departure_id=departure_id))
        await self.run(employee(manager), c.ApproveStep(departure_id=departure_id, step=0,
                                                         comment="同意 Approved"))
        for key in templates:
            await self.run(HR, c.ApplyTemplate(departure_id=departure_id, template_key=key,
                                               successor_id=successor.id))
        return departure_id

    async def items(self, departure_id: str) -> list[HandoverItem]:
        departure = await self.ledger.load(Departure, departure_id)
        return [await self.ledger.load(HandoverItem, i) for i in departure.item_ids]

    def reviewer(self, item: HandoverItem, people: dict[str, Person]) -> Actor:
        if item.receiver in DEPARTMENT_ACTORS:
            return DEPARTMENT_ACTORS[item.receiver]
        if item.receiver == HR.id:
            return HR
        return employee(people[item.receiver])

    async def upload(self, item: HandoverItem, giver: Person, name: str,
                     content: bytes) -> c.Evidence:
        """Store a file and record its upload to the item, as the upload route does."""
        sha256, size = await self.blobs.put(_once(content))
        uploaded = await self.run(employee(giver), c.RecordUpload(
            item_id=item.id, sha256=sha256, size=size, name=name, media_type="text/plain"))
        return c.Evidence(sha256=sha256, size=size, name=str(uploaded["name"]),
                          media_type=str(uploaded["media_type"]))

    async def submit(self, item: HandoverItem, giver: Person, note: str) -> None:
        """Upload a small text file describing the handover, then submit the item citing it."""
        content = f"{item.title}\n{item.acceptance_criteria}\n\n{note}\n".encode()
        evidence = await self.upload(item, giver, f"{item.title}.txt", content)
        await self.run(employee(giver), c.SubmitItem(item_id=item.id, note=note,
                                                      evidence=[evidence]))

    async def sign_confirmation(self, departure_id: str, people: dict[str, Person]) -> None:
        """Every signatory signs the handover confirmation (交接确认书) as it stands (seed 000:
        "交接双方在系统内签署'交接确认书'")."""
        departure = await self.ledger.load(Departure, departure_id)
        _, due = confirmation_due(departure, await self.items(departure_id))
        staff = {a.id: a for a in (HR, *DEPARTMENT_ACTORS.values())}
        for who in departure.unsigned(due):
            actor = staff.get(who) or employee(people[who])
            await self.run(actor, c.SignHandoverConfirmation(departure_id=departure.id,
                                                             statement_sha256=due.sha256))

    async def finish_all(self, departure_id: str, giver: Person,
                         people: dict[str, Person]) -> None:
        """Submit and confirm every open item (waive those marked waivable by HR)."""
        for item in await self.items(departure_id):
            if item.state in ("confirmed", "waived"):
                continue
            if "豁免" in item.acceptance_criteria and item.category in ("assets", "finance"):
                await self.run(HR, c.WaiveItem(item_id=item.id,
                                               reason="不适用：该员工未保管此类物品"))
                continue
            await self.submit(item, giver, f"已完成：{item.title}")
            await self.run(self.reviewer(item, people),
                           c.ConfirmItem(item_id=item.id, note="已核对 Checked"))
