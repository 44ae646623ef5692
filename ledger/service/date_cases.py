"""Use cases on the dates and facts of a case that the handover never gates.

Seed 001: "未及时解除劳动合同" is a legal risk of its own, and wages and the termination
certificate are never blocked (Labour Contract Law Art. 50): the day the person left and the
contract's termination are recorded whatever the items' states, and even after close. A moved
last working day moves the open checklist items' due dates; frozen access (001: "暂时冻结了老张
的系统权限") makes the IT clearance items due now.

Why the due dates move by events on the items rather than being derived from the last day:
the due date is what reminders, escalations and the overdue board hold the leaver to, so each
change sits on the item's own chain with its reason and author. A derived date would rewrite
the past: an item that was overdue yesterday would no longer have been overdue.
"""

from __future__ import annotations

import datetime as dt

from ledger.aggregates.departure import Departure
from ledger.aggregates.item import DONE_STATES, HandoverItem
from ledger.canonical import JSONObject
from ledger.errors import InvalidInputError
from ledger.service import commands as c
from ledger.service.context import Actor
from ledger.service.departure_cases import require_not_leaver
from ledger.service.item_flow import today
from ledger.service.policy import HR, require_role
from ledger.service.request_cases import require_content
from ledger.service.unit_of_work import UnitOfWork

IT_QUEUE = "dept:it"


async def _case(cmd_id: object, version: int | None, actor: Actor, uow: UnitOfWork,
                action: str) -> Departure:
    require_role(actor, HR, action)
    departure = await uow.get(Departure, str(cmd_id), version)
    require_not_leaver(actor, departure)
    return departure


async def _open_items(uow: UnitOfWork, departure: Departure) -> list[HandoverItem]:
    items = [await uow.get(HandoverItem, i) for i in departure.item_ids]
    return [i for i in items if i.state not in DONE_STATES]


async def change_last_working_day(cmd: c.ChangeLastWorkingDay, actor: Actor,
                                  uow: UnitOfWork) -> JSONObject:
    """HR moves the last working day; open items whose due date came from the checklist
    keep their offset from it (each move an ItemDueDateChanged on the item)."""
    departure = await _case(cmd.departure_id, cmd.expected_version, actor, uow,
                            "change the last working day")
    shift = cmd.last_working_day - dt.date.fromisoformat(departure.last_working_day)
    following = [i for i in await _open_items(uow, departure)
                 if i.due_follows_last_day and i.due_date is not None]
    departure.change_last_working_day(
        by=actor.id, last_working_day=cmd.last_working_day.isoformat(), reason=cmd.reason,
        item_ids=[str(i.id) for i in following])
    for item in following:
        due = dt.date.fromisoformat(str(item.due_date)) + shift
        item.change_due_date(by=actor.id, due_date=due.isoformat(), reason=cmd.reason,
                             cause="last_working_day", urgent=False)
    return {"departure_id": str(departure.id), "last_working_day": departure.last_working_day,
            "items_moved": [str(i.id) for i in following]}


async def record_left(cmd: c.RecordLeft, actor: Actor, uow: UnitOfWork) -> JSONObject:
    """HR records the day the person actually left (open items or a close do not matter)."""
    departure = await _case(cmd.departure_id, None, actor, uow, "record the leaving day")
    if cmd.left_on > today(uow):  # the organisation's date (LEDGER_TIME_ZONE)
        raise InvalidInputError("the leaving day is in the future", field="left_on")
    departure.record_left(by=actor.id, left_on=cmd.left_on.isoformat(), note=cmd.note)
    return {"departure_id": str(departure.id), "left_on": departure.left_on}


async def record_contract_terminated(cmd: c.RecordContractTerminated, actor: Actor,
                                     uow: UnitOfWork) -> JSONObject:
    """HR records the contract's termination and its uploaded document's digest."""
    departure = await _case(cmd.departure_id, None, actor, uow,
                            "record the contract's termination")
    require_content(cmd.document, "document")
    departure.record_contract_terminated(by=actor.id,
                                         terminated_on=cmd.terminated_on.isoformat(),
                                         document=cmd.document.model_dump(), note=cmd.note)
    return {"departure_id": str(departure.id),
            "contract_termination": departure.contract_termination}


async def freeze_access(cmd: c.FreezeAccess, actor: Actor, uow: UnitOfWork) -> JSONObject:
    """HR freezes the leaver's access now; the open IT clearance items fall due today and
    become urgent (workable even before approval). The DepartureAccessFrozen event carries
    what an IAM integration needs: the principal, who froze it, when, and why."""
    departure = await _case(cmd.departure_id, None, actor, uow, "freeze access")
    now = uow.clock().astimezone(dt.UTC)
    it_items = [i for i in await _open_items(uow, departure) if i.receiver == IT_QUEUE]
    departure.freeze_access(by=actor.id, frozen_at=now.isoformat(timespec="microseconds")
                            .replace("+00:00", "Z"), reason=cmd.reason,
                            item_ids=[str(i.id) for i in it_items])
    for item in it_items:
        item.change_due_date(by=actor.id, due_date=today(uow).isoformat(),
                             reason=f"access frozen: {cmd.reason}", cause="access_frozen",
                             urgent=True)
    return {"departure_id": str(departure.id), "access_frozen": departure.access_frozen,
            "items_due_now": [str(i.id) for i in it_items]}
