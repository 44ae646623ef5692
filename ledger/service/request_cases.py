"""Use cases on a leaver's own request: request, accept into the approval chain, decline.

Seed 001: "员工只需通过手机端提交离职申请(填写离职原因、预计离职时间)…系统会自动将申请流转至
相关负责人". The case starts in ``requested``; only its leaver and HR read it until HR accepts
it (naming the manager, the HR owner and the approvers) or declines it with a reason.
"""

from __future__ import annotations

from ledger.aggregates.departure import Departure
from ledger.canonical import JSONObject
from ledger.errors import InvalidInputError
from ledger.service import commands as c
from ledger.service.checklist_apply import auto_apply
from ledger.service.context import Actor
from ledger.service.departure_cases import require_not_leaver, require_other_receiver
from ledger.service.duties import require_approvers, require_named
from ledger.service.item_flow import today
from ledger.service.policy import HR, require_role
from ledger.service.relation import hide_departure
from ledger.service.unit_of_work import UnitOfWork

LEAVERS = ("employee",)


async def request_departure(cmd: c.RequestDeparture, actor: Actor,
                            uow: UnitOfWork) -> JSONObject:
    """The leaver requests their own departure, citing the letter the route uploaded."""
    require_role(actor, LEAVERS, "request a departure")
    require_content(cmd.letter, "letter")
    leaver: JSONObject = {"id": actor.id, "name": actor.name or actor.id,
                          "department": cmd.department, "position": cmd.position}
    departure = Departure.request_departure(
        leaver=leaver, reason=cmd.reason,
        intended_last_working_day=cmd.intended_last_working_day.isoformat(),
        letter=cmd.letter.model_dump(),
        # The organisation's date (LEDGER_TIME_ZONE), as escalations and the leaving day use:
        # at 07:00 in Shanghai the UTC date is still yesterday, and the notice runs from here.
        notice_date=today(uow).isoformat())
    uow.add(departure)
    return {"departure_id": str(departure.id), "state": departure.state,
            "letter": dict(cmd.letter.model_dump())}


async def accept_departure_request(cmd: c.AcceptDepartureRequest, actor: Actor,
                                   uow: UnitOfWork) -> JSONObject:
    """HR accepts the request into the approval chain, with what a started case needs."""
    require_role(actor, HR, "accept a departure request")
    departure = await uow.get(Departure, cmd.departure_id, cmd.expected_version)
    require_not_leaver(actor, departure)
    overseers = {cmd.manager_id, cmd.hr_owner_id, *(s.approver_id for s in cmd.approval_chain)}
    if departure.leaver_id in overseers:
        raise InvalidInputError("the leaver cannot manage, own or approve their own departure",
                                field="manager_id")
    await require_named(uow, cmd.manager_id, "manager_id")
    await require_named(uow, cmd.hr_owner_id, "hr_owner_id", role="hr")
    await require_approvers(uow, actor, cmd.approval_chain)
    if cmd.successor_id is not None:
        require_other_receiver(cmd.successor_id, departure)
        await require_named(uow, cmd.successor_id, "successor_id")
    departure.accept_request(
        by=actor.id, role_family=cmd.role_family, manager_id=cmd.manager_id,
        hr_owner_id=cmd.hr_owner_id,
        notice_date=(cmd.notice_date.isoformat() if cmd.notice_date
                     else departure.notice_date),
        last_working_day=(cmd.last_working_day.isoformat() if cmd.last_working_day
                          else departure.last_working_day),
        approval_chain=[s.model_dump() for s in cmd.approval_chain],
        successor_id=cmd.successor_id)
    # an empty chain: approved, and the checklists applied (or left to HR) at once
    applied, skipped = await auto_apply(uow, departure, actor.id)
    result: JSONObject = {"departure_id": str(departure.id), "state": departure.state}
    if applied:
        result = {**result, "templates_applied": list(applied)}
    return {**result, "templates_skipped": list(skipped)} if skipped else result


async def decline_departure_request(cmd: c.DeclineDepartureRequest, actor: Actor,
                                    uow: UnitOfWork) -> JSONObject:
    """HR declines the request, with a reason (the leaver reads it)."""
    require_role(actor, HR, "decline a departure request")
    departure = await uow.get(Departure, cmd.departure_id, cmd.expected_version)
    require_not_leaver(actor, departure)
    departure.decline_request(by=actor.id, reason=cmd.reason)
    return {"departure_id": str(departure.id), "state": departure.state}


async def withdraw_departure_request(cmd: c.WithdrawDepartureRequest, actor: Actor,
                                     uow: UnitOfWork) -> JSONObject:
    """The leaver takes back their own request, with a reason, while it is ``requested``
    (HR declines one instead); to anyone who may not read it, it is absent."""
    departure = await uow.get(Departure, cmd.departure_id, cmd.expected_version)
    hide_departure(actor, departure)
    departure.withdraw_request(by=actor.id, reason=cmd.reason)
    return {"departure_id": str(departure.id), "state": departure.state}


def require_content(file: c.Evidence, field: str) -> None:
    """A letter or document the case cites must have content: an empty file proves nothing."""
    if file.size == 0:
        raise InvalidInputError(f"the file {field!r} is empty", field=field)
