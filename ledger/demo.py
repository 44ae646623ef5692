"""The seed scenarios (shared/seeds), played through the real use cases.

1. 王磊, sales manager (000): a client file rejected once for missing the client's latest
   needs, resubmitted in lines, confirmed; every item done; the handover confirmation signed
   by both sides and HR, the case closed; then the successor disputes the client file, both
   sides state, HR finds.
2. 张伟, on-site technician (001's 老张) who left the site: requests his departure from his
   phone, HR accepts, his last day moves to the day he left, access frozen; hands over
   remotely (an urgent remote submission, a question answered, a recorded walkthrough of the
   site); the rest overdue, reminders and an escalation on record.
3. 陈静, COO (002): the five modules signed module by module, the risk register line by line
   (``ledger.demo_stories``).
4. 刘洋, engineering project lead (004): IAM reports his accounts disabled; his laptop is
   reviewed before it is wiped (``ledger.demo_stories``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

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
DONE = ("confirmed", "waived")


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
        # Applied while approval is pending, naming the successor: an approval that applies
        # checklists (LEDGER_AUTO_APPLY_CHECKLISTS=on) skips them.
        await self.apply_checklists(departure_id, templates, successor)
        await self.run(employee(manager), c.ApproveStep(departure_id=departure_id, step=0,
                                                         comment="同意 Approved"))
        return departure_id

    async def apply_checklists(self, departure_id: str, templates: list[str],
                               successor: Person) -> None:
        """HR applies each checklist not applied already, naming the successor."""
        applied = (await self.ledger.load(Departure, departure_id)).applied_template_keys()
        for key in templates:
            if key not in applied:
                await self.run(HR, c.ApplyTemplate(departure_id=departure_id, template_key=key,
                                                   successor_id=successor.id))

    async def items(self, departure_id: str) -> list[HandoverItem]:
        departure = await self.ledger.load(Departure, departure_id)
        return [await self.ledger.load(HandoverItem, i) for i in departure.item_ids]

    async def items_of(self, *item_ids: object) -> list[HandoverItem]:
        """The items with these ids, as they are now."""
        return [await self.ledger.load(HandoverItem, str(i)) for i in item_ids]

    async def item(self, departure_id: str, key: str) -> HandoverItem:
        """The departure's item created from checklist line ``key``."""
        return next(i for i in await self.items(departure_id) if i.template_item_key == key)

    def reviewer(self, item: HandoverItem, people: dict[str, Person]) -> Actor:
        return actor_of(item.receiver, people)

    async def store_file(self, name: str, text: str) -> c.Evidence:
        """Store a text file, as a form route does before citing it (a resignation letter)."""
        sha256, size = await self.blobs.put(_once(text.encode()))
        return c.Evidence(sha256=sha256, size=size, name=name, media_type="text/plain")

    async def upload(self, item: HandoverItem, giver: Actor, name: str,
                     content: bytes) -> c.Evidence:
        """Store a file and record its upload to the item, as the upload route does."""
        sha256, size = await self.blobs.put(_once(content))
        uploaded = await self.run(giver, c.RecordUpload(
            item_id=item.id, sha256=sha256, size=size, name=name, media_type="text/plain"))
        return c.Evidence(sha256=sha256, size=size, name=str(uploaded["name"]),
                          media_type=str(uploaded["media_type"]))

    async def submit(self, item: HandoverItem, people: dict[str, Person], note: str,
                     lines: list[c.Line] | None = None, mode: str | None = None,
                     location: str | None = None, attendees: list[str] | None = None,
                     urgent: bool = False) -> None:
        """The item's giver uploads a small text file describing the handover, then submits
        the item citing it (with its lines, and how, where and with whom it was handed)."""
        giver = actor_of(item.giver_id, people)
        listed = "".join(f"{line.id} {line.text}\n" for line in lines or [])
        content = f"{item.title}\n{item.acceptance_criteria}\n\n{note}\n{listed}".encode()
        evidence = await self.upload(item, giver, f"{item.title}.txt", content)
        await self.run(giver, c.SubmitItem.model_validate({
            "item_id": item.id, "note": note, "evidence": [evidence], "lines": lines or [],
            "mode": mode, "location": location, "attendees": attendees or [],
            "urgent": urgent}))

    async def sign_off(self, item_id: UUID, people: dict[str, Person], note: str = "已核对 Checked",
                       mode: str | None = None) -> None:
        """Every pending signer confirms the submission as themself, acknowledging each of
        its lines (002: "逐条签字确认"); the last sign-off confirms the item."""
        while True:
            item = await self.ledger.load(HandoverItem, item_id)
            if item.state != "submitted" or not item.pending_signers():
                return
            signer = actor_of(item.pending_signers()[0], people)
            await self.run(signer, c.ConfirmItem.model_validate({
                "item_id": item.id, "note": note, "mode": mode,
                "acknowledged": [str(line["id"]) for line in item.lines]}))

    async def sign_confirmation(self, departure_id: str, people: dict[str, Person]) -> None:
        """Every signatory signs the handover confirmation (交接确认书) as it stands (seed 000:
        "交接双方在系统内签署'交接确认书'")."""
        departure = await self.ledger.load(Departure, departure_id)
        _, due = confirmation_due(departure, await self.items(departure_id))
        for who in departure.unsigned(due):
            await self.run(actor_of(who, people), c.SignHandoverConfirmation(
                departure_id=departure.id, statement_sha256=due.sha256))

    async def finish_all(self, departure_id: str, people: dict[str, Person]) -> None:
        """Submit and sign off every open item, each after the items it requires (the wipe
        after the laptop review); waive those marked waivable by HR."""
        for _ in range(3):  # a pass finishes every item whose requirements are done
            done = {str(i.id) for i in await self.items(departure_id) if i.state in DONE}
            for item in await self.items(departure_id):
                if item.state in DONE or not set(item.requires) <= done:
                    continue
                if "豁免" in item.acceptance_criteria and item.category in ("assets", "finance"):
                    await self.run(HR, c.WaiveItem(item_id=item.id,
                                                   reason="不适用：该员工未保管此类物品"))
                else:
                    if item.state != "submitted":
                        await self.submit(item, people, f"已完成：{item.title}")
                    await self.sign_off(item.id, people)
                done.add(str(item.id))


def actor_of(principal: str, people: dict[str, Person]) -> Actor:
    """The demo actor who acts as ``principal`` or works the department queue."""
    staff = {a.id: a for a in (HR, IAM, *DEPARTMENT_ACTORS.values())}
    if principal in DEPARTMENT_ACTORS:
        return DEPARTMENT_ACTORS[principal]
    return staff.get(principal) or employee(people[principal])
