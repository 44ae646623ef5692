"""Use cases on handover items: submit, confirm, reject, waive, reassign, comment, evidence."""

from __future__ import annotations

import datetime as dt

from ledger.aggregates.departure import (
    FINAL_STATES,
    OPEN_FOR_ITEMS,
    Departure,
    DepartureStateError,
)
from ledger.aggregates.item import HandoverItem
from ledger.canonical import JSONObject
from ledger.errors import ForbiddenError
from ledger.service import commands as c
from ledger.service.context import Actor
from ledger.service.departure_cases import (
    require_not_leaver,
    require_other_receiver,
    require_signer,
)
from ledger.service.duties import require_case_owner
from ledger.service.item_flow import ask_question, confirm_by, prerequisite_states
from ledger.service.policy import (
    EVIDENCE_SOURCES,
    HR,
    REVIEWERS,
    SUBMITTERS,
    require_hr_or_manager,
    require_role,
)
from ledger.service.relation import hide_item, is_party
from ledger.service.signature import registered_key, verify_confirmation
from ledger.service.unit_of_work import UnitOfWork


async def open_departure(uow: UnitOfWork, item: HandoverItem,
                         actor: Actor | None = None) -> Departure:
    """The item's departure, which must still be open: a closed or withdrawn case is final
    (its leaver may still read it, nobody writes to it). With ``actor``, an item they may not
    read is refused first, as if it were absent.

    Every item command calls this, so the departure is a read dependency of every item write:
    the (possibly cached) state read here is re-checked when the append commits, and a close
    or withdrawal that commits first makes the item command fail and be decided again.
    """
    departure = await uow.get(Departure, item.departure_id, read_only=True)
    if actor is not None:
        hide_item(actor, item, departure)
    require_open(departure)
    return departure


def require_open(departure: Departure) -> None:
    """Refuse any write to an item of a closed or withdrawn departure."""
    if departure.state in FINAL_STATES:
        raise DepartureStateError(f"departure {departure.id} is {departure.state}; "
                                  f"its items can no longer change")


def require_workable(departure: Departure, item: HandoverItem) -> None:
    """Before approval only urgent items are worked (seed 001: "标注'紧急'…需立即交接"); the
    rest wait until the approval chain is complete."""
    if departure.state not in OPEN_FOR_ITEMS and not item.urgent:
        raise DepartureStateError(f"departure {departure.id} is {departure.state}; until it "
                                  "is approved only urgent items can be worked")


def _result(item: HandoverItem) -> JSONObject:
    return {"item_id": str(item.id), "state": item.state}


async def submit_item(cmd: c.SubmitItem, actor: Actor, uow: UnitOfWork) -> JSONObject:
    """The giver (a person, or a department queue such as finance giving the final settlement),
    or HR on the giver's behalf, submits the item with evidence digests, lines and how."""
    require_role(actor, SUBMITTERS, "submit items")
    item = await uow.get(HandoverItem, cmd.item_id, cmd.expected_version)
    require_workable(await open_departure(uow, item, actor), item)
    item.submit(by=actor.id, on_behalf=cmd.on_behalf and actor.role == "hr", note=cmd.note,
                evidence=[e.model_dump() for e in cmd.evidence],
                acting_for=actor.acting_for(), lines=[ln.model_dump() for ln in cmd.lines],
                how=c.how_of(cmd), urgent=cmd.urgent,
                prerequisites=await prerequisite_states(uow, item),
                confirm_by=confirm_by(uow, item))
    return _result(item)


async def confirm_item(cmd: c.ConfirmItem, actor: Actor, uow: UnitOfWork) -> JSONObject:
    """A signer of the item (its receiver, a person or department queue, or each of its
    declared signers, each as themself) signs the current submission; the last sign-off
    confirms it."""
    require_role(actor, REVIEWERS, "confirm items")
    item = await uow.get(HandoverItem, cmd.item_id, cmd.expected_version)
    require_workable(await open_departure(uow, item, actor), item)
    signed = None
    if cmd.signature is not None:
        owner, public_key = await registered_key(uow.keys, cmd.signature.key_id)
        signed = verify_confirmation(cmd.signature, item, actor.id, owner, public_key,
                                     dt.datetime.now(dt.UTC))
    item.confirm(by=actor.id, acting_for=actor.acting_for(), note=cmd.note, signature=signed,
                 acknowledged=list(cmd.acknowledged), how=c.how_of(cmd),
                 prerequisites=await prerequisite_states(uow, item))
    return {**_result(item), "signed": signed is not None,
            **({"pending_signers": item.pending_signers()} if item.signers else {})}


async def reject_item(cmd: c.RejectItem, actor: Actor, uow: UnitOfWork) -> JSONObject:
    """A signer rejects the current submission, with a reason (and the lines it rejects);
    the item returns to its giver."""
    require_role(actor, REVIEWERS, "reject items")
    item = await uow.get(HandoverItem, cmd.item_id, cmd.expected_version)
    require_workable(await open_departure(uow, item, actor), item)
    item.reject(by=actor.id, acting_for=actor.acting_for(), reason=cmd.reason,
                rejected_lines=[r.model_dump() for r in cmd.rejected_lines],
                acknowledged=list(cmd.acknowledged))
    return _result(item)


async def waive_item(cmd: c.WaiveItem, actor: Actor, uow: UnitOfWork) -> JSONObject:
    """HR waives an item, with a reason."""
    require_role(actor, HR, "waive items")
    item = await uow.get(HandoverItem, cmd.item_id, cmd.expected_version)
    departure = await open_departure(uow, item, actor)
    require_not_leaver(actor, departure)
    if item.mandatory:
        require_case_owner(uow, actor, departure, "waive its mandatory items")
    item.waive(by=actor.id, reason=cmd.reason)
    return _result(item)


async def reassign_item(cmd: c.ReassignItem, actor: Actor, uow: UnitOfWork) -> JSONObject:
    """HR or the leaver's manager gives the item a new receiver."""
    item = await uow.get(HandoverItem, cmd.item_id, cmd.expected_version)
    departure = await open_departure(uow, item, actor)
    require_hr_or_manager(actor, departure.manager_id, "reassign items")
    require_not_leaver(actor, departure)
    require_other_receiver(cmd.receiver, departure)
    await require_signer(uow, cmd.receiver, "receiver")  # one who may confirm items
    item.reassign(by=actor.id, receiver=cmd.receiver, reason=cmd.reason)
    return {**_result(item), "receiver": item.receiver}


async def comment_item(cmd: c.CommentItem, actor: Actor, uow: UnitOfWork) -> JSONObject:
    """Anyone involved in the item (HR, giver, receiver, manager) comments on it."""
    item = await uow.get(HandoverItem, cmd.item_id)
    departure = await uow.get(Departure, item.departure_id, read_only=True)  # a dependency
    involved = actor.role == "hr" or actor.id in (item.giver_id, departure.manager_id) or (
        item.receiver in actor.acting_for()) or is_party(actor, item)
    hide_item(actor, item, departure)
    if not involved:  # before the state check: an outsider learns nothing of the case
        raise ForbiddenError(f"{actor.id} is not involved in item {item.id}")
    require_open(departure)
    if cmd.question_to is not None:  # a question, awaiting its addressee's answer
        question_id = await ask_question(uow, actor.id, item, departure, cmd.question_to,
                                         cmd.text)
        return {**_result(item), "question_id": question_id}
    item.comment(by=actor.id, text=cmd.text)
    return _result(item)


async def record_external_evidence(cmd: c.RecordExternalEvidence, actor: Actor,
                                   uow: UnitOfWork) -> JSONObject:
    """The item's department queue, or a system its checklist item names for this kind of
    report (IAM: ``account_disabled``), reports a fact about the item; satisfying evidence
    submits an open item on the system's word, for its receiver to confirm.

    A source the item does not take is refused as the item's readers would be refused: as if
    the item were absent unless the source may read it (systems read no item)."""
    require_role(actor, EVIDENCE_SOURCES, "record external evidence")
    item = await uow.get(HandoverItem, cmd.item_id)
    allowed = item.accepts_evidence_from(actor.role, actor.id, cmd.kind)
    departure = await open_departure(uow, item, None if allowed else actor)
    require_not_leaver(actor, departure)
    require_workable(departure, item)
    item.record_external_evidence(by=actor.id, role=actor.role, source=cmd.source,
                                  kind=cmd.kind, reference=cmd.reference,
                                  details=dict(cmd.details),
                                  prerequisites=await prerequisite_states(uow, item),
                                  confirm_by=confirm_by(uow, item))
    return _result(item)
