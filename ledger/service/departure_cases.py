"""Use cases on departures: start, approve, withdraw, apply a template, add items, close."""

from __future__ import annotations

from ledger.aggregates.departure import Departure, DepartureStateError
from ledger.aggregates.item import DEPARTMENT_QUEUES, HandoverItem
from ledger.aggregates.signoff import resolve_signers
from ledger.canonical import JSONObject
from ledger.errors import ForbiddenError, InvalidInputError
from ledger.service import commands as c
from ledger.service.checklist_apply import (
    apply_checklist,
    auto_apply,
    load_checklist,
    require_not_leavers_revision,
)
from ledger.service.context import Actor
from ledger.service.duties import (
    require_approver_role,
    require_approvers,
    require_case_owner,
    require_named,
    require_owner_or_owner_gone,
)
from ledger.service.handover_statement import confirmation_due
from ledger.service.item_flow import (
    requirements_of_new_item,
    unanswered_questions,
)
from ledger.service.policy import (
    HR,
    LEDGER_ACTOR_ID,
    REVIEWERS,
    require_hr_or_manager,
    require_role,
)
from ledger.service.relation import hide_departure
from ledger.service.unit_of_work import UnitOfWork


async def start_departure(cmd: c.StartDeparture, actor: Actor, uow: UnitOfWork) -> JSONObject:
    """HR opens a case in draft."""
    require_role(actor, HR, "start a departure")
    overseers = {actor.id, cmd.manager_id, cmd.hr_owner_id,
                 *(s.approver_id for s in cmd.approval_chain)}
    if cmd.leaver.id in overseers:
        raise InvalidInputError("the leaver cannot start, manage, own or approve their own "
                                "departure", field="leaver.id")
    if cmd.last_working_day < cmd.notice_date:
        raise InvalidInputError("last working day is before the notice date",
                                field="last_working_day")
    await require_named(uow, cmd.leaver.id, "leaver.id")
    await require_named(uow, cmd.manager_id, "manager_id")
    await require_named(uow, cmd.hr_owner_id, "hr_owner_id", role="hr")
    await require_approvers(uow, actor, cmd.approval_chain)
    if cmd.successor_id is not None:
        await require_signer(uow, cmd.successor_id, "successor_id")
    departure = Departure(
        leaver=cmd.leaver.model_dump(), manager_id=cmd.manager_id,
        hr_owner_id=cmd.hr_owner_id, notice_date=cmd.notice_date.isoformat(),
        last_working_day=cmd.last_working_day.isoformat(), reason=cmd.reason,
        approval_chain=[s.model_dump() for s in cmd.approval_chain],
    )
    if cmd.successor_id is not None:  # its own event: entries of cases without one unchanged
        departure.name_successor(by=actor.id, successor_id=cmd.successor_id)
    uow.add(departure)
    return {"departure_id": str(departure.id)}


async def submit_for_approval(cmd: c.SubmitForApproval, actor: Actor,
                              uow: UnitOfWork) -> JSONObject:
    """HR sends the draft to its approvers."""
    require_role(actor, HR, "submit a departure for approval")
    departure = await uow.get(Departure, cmd.departure_id, cmd.expected_version)
    require_not_leaver(actor, departure)
    departure.submit_for_approval(by=actor.id)
    return await _approved(uow, departure, actor.id)


async def approve_step(cmd: c.ApproveStep, actor: Actor, uow: UnitOfWork) -> JSONObject:
    """The named approver of the current step approves it."""
    require_approver_role(uow, actor)
    departure = await uow.get(Departure, cmd.departure_id, cmd.expected_version)
    hide_departure(actor, departure)
    require_not_leaver(actor, departure)
    departure.approve_step(by=actor.id, step=cmd.step, comment=cmd.comment)
    return await _approved(uow, departure, actor.id)


async def _approved(uow: UnitOfWork, departure: Departure, by: str) -> JSONObject:
    """The answer to a step of the chain; the approval that completes it may apply the case's
    checklists (``LEDGER_AUTO_APPLY_CHECKLISTS``)."""
    applied, skipped = await auto_apply(uow, departure, by)
    result: JSONObject = {"departure_id": str(departure.id), "state": departure.state}
    if applied:
        result = {**result, "templates_applied": list(applied)}
    # A checklist left for HR (no successor named, or refused on this case) is said, not lost.
    return {**result, "templates_skipped": list(skipped)} if skipped else result


async def reject_step(cmd: c.RejectStep, actor: Actor, uow: UnitOfWork) -> JSONObject:
    """The named approver of the current step rejects it."""
    require_approver_role(uow, actor)
    departure = await uow.get(Departure, cmd.departure_id, cmd.expected_version)
    hide_departure(actor, departure)
    require_not_leaver(actor, departure)
    departure.reject_step(by=actor.id, step=cmd.step, reason=cmd.reason)
    return {"departure_id": str(departure.id), "state": departure.state}


async def withdraw_departure(cmd: c.WithdrawDeparture, actor: Actor,
                             uow: UnitOfWork) -> JSONObject:
    """The case's HR owner withdraws it (final, like a close)."""
    require_role(actor, HR, "withdraw a departure")
    departure = await uow.get(Departure, cmd.departure_id, cmd.expected_version)
    require_not_leaver(actor, departure)
    if departure.state == "requested":  # it has no owner yet, and HR's answer is a decline
        raise DepartureStateError(f"departure {departure.id} is a leaver's request: HR declines "
                                  "it (POST /v1/departures/requests/{id}/decline)")
    require_case_owner(uow, actor, departure, "withdraw it")
    departure.withdraw(by=actor.id, reason=cmd.reason)
    return {"departure_id": str(departure.id), "state": departure.state}


def require_not_leaver(actor: Actor, departure: Departure) -> None:
    """Nobody runs their own offboarding: HR actions on a case exclude its leaver."""
    if actor.id == departure.leaver_id:
        raise ForbiddenError(f"{actor.id} is the leaver of departure {departure.id}")


async def case_items(uow: UnitOfWork, departure: Departure) -> list[HandoverItem]:
    """The departure's items, loaded read-only: each a read dependency of the command (a close,
    a signature of the handover confirmation), re-checked when its append commits."""
    return [await uow.get(HandoverItem, i, read_only=True) for i in departure.item_ids]


def require_other_receiver(receiver: str, departure: Departure) -> None:
    """Nobody confirms their own handover: the receiver must not be the leaver."""
    if receiver == departure.leaver_id:
        raise InvalidInputError("the leaver cannot receive their own handover", field="receiver")


async def apply_template(cmd: c.ApplyTemplate, actor: Actor, uow: UnitOfWork) -> JSONObject:
    """HR applies a checklist: the items and the TemplateApplied record commit together (while
    approval is pending too, so that its urgent items can be worked at once)."""
    require_role(actor, HR, "apply a template")
    departure = await uow.get(Departure, cmd.departure_id, cmd.expected_version)
    require_not_leaver(actor, departure)
    template = await load_checklist(uow, cmd.template_key)
    require_not_leavers_revision(template, departure)
    successor_id = case_successor(cmd.successor_id, departure)
    if successor_id is not None:
        require_other_receiver(successor_id, departure)
        await require_signer(uow, successor_id, "successor_id")
    merged: list[JSONObject] = []  # finding 1: one person in two roles' slots, said
    item_ids = await apply_checklist(uow, departure, template, successor_id, merged)
    result: JSONObject = {"departure_id": str(departure.id), "template": template.reference(),
                          "item_ids": item_ids}
    return {**result, "merged_signers": list(merged)} if merged else result


async def require_signer(uow: UnitOfWork, principal_id: str, field: str) -> None:
    """Refuse (422 naming ``field``) a receiver or signer who could never sign: no active
    principal, or one holding no role that may confirm items (an auditor, legal, a system)."""
    await require_named(uow, principal_id, field)
    if principal_id in DEPARTMENT_QUEUES or uow.directory is None:
        return
    if not set((await uow.directory.get_principal(principal_id)).roles) & set(REVIEWERS):
        raise InvalidInputError(f"{field}: {principal_id!r} holds no role that may confirm "
                                f"items ({', '.join(REVIEWERS)})", field=field)


def case_successor(successor_id: str | None, departure: Departure) -> str | None:
    """The successor a checklist applied by hand goes to: the one the case names (on accept),
    unless HR names one where the case names none; another than the case's is refused."""
    if successor_id is None or successor_id == departure.successor_id:
        return departure.successor_id
    if departure.successor_id is not None:
        raise InvalidInputError(f"successor_id: departure {departure.id} names "
                                f"{departure.successor_id} as the successor, not "
                                f"{successor_id}", field="successor_id")
    return successor_id


async def add_item(cmd: c.AddItem, actor: Actor, uow: UnitOfWork) -> JSONObject:
    """HR or the manager adds an ad-hoc item."""
    departure = await uow.get(Departure, cmd.departure_id, cmd.expected_version)
    hide_departure(actor, departure)
    require_not_leaver(actor, departure)
    require_hr_or_manager(actor, departure.manager_id, "add an item")
    require_other_receiver(cmd.receiver, departure)
    await require_signer(uow, cmd.receiver, "receiver")
    for signer in cmd.signers:  # each signer a real principal or queue, not the leaver
        require_other_receiver(signer, departure)
        await require_signer(uow, signer, "signers")
    signers = resolve_signers(cmd.signers, departure.leaver_id, cmd.receiver)
    item = HandoverItem(
        departure_id=str(departure.id), category=cmd.category, title=cmd.title,
        label=cmd.label, acceptance_criteria=cmd.acceptance_criteria,
        giver_id=departure.leaver_id, receiver=cmd.receiver, mandatory=cmd.mandatory,
        priority=cmd.priority,
        due_date=cmd.due_date.isoformat() if cmd.due_date else None, template_item_key=None,
        signers=signers or None, signers_in_order=cmd.signers_in_order and bool(signers),
        # required items of this departure, the receiver's deadline
        requires=requirements_of_new_item(cmd.requires, departure) or None,
        confirm_within_working_days=cmd.confirm_within_working_days,
        escalate_to=cmd.escalate_to,
        module=cmd.module,  # a management item's module
    )
    departure.add_item(str(item.id))
    uow.add(item)
    return {"departure_id": str(departure.id), "item_id": str(item.id)}


async def send_reminder(cmd: c.SendReminder, actor: Actor, uow: UnitOfWork) -> JSONObject:
    """HR records that it chased someone about open items; the ledger's scheduler records
    the reminders and escalations its rules send (ledger.scheduler), naming the rule."""
    ours = actor.id == LEDGER_ACTOR_ID
    if not ours:
        require_role(actor, HR, "send reminders")
        if cmd.rule is not None:
            raise ForbiddenError("only the ledger's scheduler sends reminders by rule")
    departure = await uow.get(Departure, cmd.departure_id)
    require_not_leaver(actor, departure)
    await require_named(uow, cmd.to, "to")
    departure.send_reminder(by=actor.id, to=cmd.to, item_ids=[str(i) for i in cmd.item_ids],
                            channel=cmd.channel, escalation=cmd.escalation,
                            message=cmd.message, rule=cmd.rule)
    return {"departure_id": str(departure.id), "reminders": departure.reminders}


async def close_departure(cmd: c.CloseDeparture, actor: Actor, uow: UnitOfWork) -> JSONObject:
    """HR closes the case when the gate allows; severance may then be released.

    The items are read dependencies: if any of them changes before the close commits (a
    submission, a waiver, a comment), the close is refused and decided again, so the counts it
    records are the items' states at the close and no item event commits after it (every item
    command depends on the departure in turn).
    """
    require_role(actor, HR, "close a departure")
    departure = await uow.get(Departure, cmd.departure_id, cmd.expected_version)
    require_not_leaver(actor, departure)
    require_case_owner(uow, actor, departure, "close it")
    items = await case_items(uow, departure)
    warnings = unanswered_questions(items)  # recorded with the close, never blocking
    # Seed 000: "交接双方在系统内签署'交接确认书'" (LEDGER_CLOSE_REQUIRES_CONFIRMATION).
    due = confirmation_due(departure, items)[1] if uow.close_requires_confirmation else None
    departure.close(by=actor.id, items=[i.status() for i in items], note=cmd.note,
                    warnings=warnings, confirmation=due)
    return {"departure_id": str(departure.id), "state": departure.state,
            "closure": departure.closure, "warnings": warnings}


async def hand_over_departure(cmd: c.HandOverDeparture, actor: Actor,
                              uow: UnitOfWork) -> JSONObject:
    """The case's HR owner hands it to another HR principal (any HR, without separation of
    duties, or once the owner is no longer active); the new owner then waives its mandatory
    items and closes it."""
    require_role(actor, HR, "hand over a departure")
    departure = await uow.get(Departure, cmd.departure_id, cmd.expected_version)
    require_not_leaver(actor, departure)
    await require_owner_or_owner_gone(uow, actor, departure)
    await require_named(uow, cmd.hr_owner_id, "hr_owner_id", role="hr")
    departure.hand_over(by=actor.id, hr_owner_id=cmd.hr_owner_id, reason=cmd.reason)
    return {"departure_id": str(departure.id), "state": departure.state,
            "hr_owner_id": departure.hr_owner_id}
