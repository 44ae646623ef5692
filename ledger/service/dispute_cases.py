"""Use cases on disputes: raise (placing a legal hold on the case), state, upload, find.

Raising a dispute appends to two streams in one commit: the dispute's ``DisputeRaised`` and
the departure's ``DepartureLegalHoldPlaced`` — the one departure event allowed after a close
(``ledger verify``'s gate check knows it). The items concerned are read dependencies.
"""

from __future__ import annotations

from ledger.aggregates.departure import Departure
from ledger.aggregates.dispute import Dispute
from ledger.aggregates.item import HandoverItem
from ledger.canonical import JSONObject
from ledger.errors import ForbiddenError, InvalidInputError, InvalidTransitionError, NotFoundError
from ledger.service import commands as c
from ledger.service.context import Actor
from ledger.service.departure_cases import require_not_leaver
from ledger.service.dispute_relation import (
    receives,
    require_party,
    require_stating_party,
    takes_part,
)
from ledger.service.policy import HR, require_role
from ledger.service.relation import (
    absent,
    may_read_departure,
    may_read_item,
    unaccepted_request,
)
from ledger.service.unit_of_work import UnitOfWork


async def dispute_items(uow: UnitOfWork, dispute: Dispute) -> list[HandoverItem]:
    """The items a dispute concerns (read dependencies)."""
    return [await uow.get(HandoverItem, i, read_only=True) for i in dispute.item_ids]


def _result(dispute: Dispute) -> JSONObject:
    return {"dispute_id": str(dispute.id), "departure_id": dispute.departure_id,
            "state": dispute.state}


async def raise_dispute(cmd: c.RaiseDispute, actor: Actor, uow: UnitOfWork) -> JSONObject:
    """A receiver, the leaver's manager or HR raises a dispute with a claim; the case gets a
    legal hold. A receiver names only items they receive or signed off: pulling others' items
    in would make them a party to those items' files (see ``_require_case_file``)."""
    departure = await uow.get(Departure, cmd.departure_id)
    item_ids = list(dict.fromkeys(str(i) for i in cmd.item_ids))
    reads = may_read_departure(actor, departure)
    if unaccepted_request(departure):
        # A leaver's own request HR never accepted: no one but they and HR read it, so a hold
        # on it would show its claim to legal, who cannot read the case.
        if not reads:
            raise absent(departure.id)
        raise InvalidTransitionError(
            f"departure {departure.id} is {departure.state}: a dispute is raised only on a case "
            "accepted into its approval chain")
    unknown = [i for i in item_ids if i not in departure.item_ids]
    if unknown:
        if not reads:
            raise absent(departure.id)
        raise InvalidInputError(f"items not in this departure: {unknown}", field="item_ids")
    items = [await uow.get(HandoverItem, i, read_only=True) for i in item_ids]
    if actor.role == "hr":
        raised_as = "hr"
    elif actor.role == "employee" and actor.id == departure.manager_id:
        raised_as = "manager"
    elif items and all(receives(actor, item) for item in items):
        raised_as = "receiver"
    elif reads or (items and all(may_read_item(actor, item, departure) for item in items)):
        raise ForbiddenError("a dispute is raised by the receiver of every item it names, "
                             "the leaver's manager or HR")
    else:  # an item the actor may not read reads as one not in the case
        raise absent(departure.id)
    require_not_leaver(actor, departure)
    dispute = Dispute(departure_id=str(departure.id), item_ids=item_ids, raised_by=actor.id,
                      raised_as=raised_as, claim=cmd.claim)
    uow.add(dispute)
    departure.place_legal_hold(by=actor.id, dispute_id=str(dispute.id), item_ids=item_ids)
    return _result(dispute)


async def add_dispute_statement(cmd: c.AddDisputeStatement, actor: Actor,
                                uow: UnitOfWork) -> JSONObject:
    """A party states their side, citing files of the case's items or of the dispute."""
    dispute = await uow.get(Dispute, cmd.dispute_id)
    departure = await uow.get(Departure, dispute.departure_id, read_only=True)
    party = require_stating_party(actor, dispute, departure, await dispute_items(uow, dispute))
    evidence: list[JSONObject] = []
    for cited in cmd.evidence:
        if cited.item_id is None:
            evidence.append({"sha256": cited.sha256})
            continue
        await _require_case_file(uow, actor, departure, str(cited.item_id), cited.sha256)
        evidence.append({"sha256": cited.sha256, "item_id": str(cited.item_id)})
    dispute.add_statement(by=actor.id, party=party, text=cmd.text, evidence=evidence)
    return {**_result(dispute), "statements": len(dispute.statements)}


async def _require_case_file(uow: UnitOfWork, actor: Actor, departure: Departure,
                             item_id: str, sha256: str) -> None:
    """Evidence already in the case: a file uploaded to one of its items that ``actor`` may
    read. An item outside the case, or one the actor may not read, answers exactly as a file
    never uploaded, so a statement cannot test guesses about others' files."""
    not_uploaded = InvalidInputError(f"evidence {sha256} was not uploaded to item {item_id}",
                                     field=f"evidence.{sha256}")
    if item_id not in departure.item_ids:
        raise not_uploaded
    item = await uow.get(HandoverItem, item_id, read_only=True)
    if not may_read_item(actor, item, departure) or sha256 not in item.uploads:
        raise not_uploaded


async def record_dispute_upload(cmd: c.RecordDisputeUpload, actor: Actor,
                                uow: UnitOfWork) -> JSONObject:
    """Record a file a party uploaded to the dispute (the route streamed it first)."""
    dispute = await uow.get(Dispute, cmd.dispute_id)
    departure = await uow.get(Departure, dispute.departure_id, read_only=True)
    require_stating_party(actor, dispute, departure, await dispute_items(uow, dispute))
    dispute.record_upload(by=actor.id, sha256=cmd.sha256, size=cmd.size, name=cmd.name,
                          media_type=cmd.media_type)
    upload = dispute.uploads[cmd.sha256]
    return {"dispute_id": str(dispute.id), "sha256": cmd.sha256, "size": cmd.size,
            "name": upload["name"], "media_type": upload["media_type"]}


async def record_dispute_finding(cmd: c.RecordDisputeFinding, actor: Actor,
                                 uow: UnitOfWork) -> JSONObject:
    """HR records who is responsible and why (seed 002: "责任界定为'接收方未履行确认义务'");
    the dispute is closed by it."""
    dispute = await uow.get(Dispute, cmd.dispute_id)
    departure = await uow.get(Departure, dispute.departure_id, read_only=True)
    items = await dispute_items(uow, dispute)
    require_party(actor, dispute, departure, items)
    require_role(actor, HR, "record a dispute's finding")
    require_not_leaver(actor, departure)
    if uow.separation_of_duties:
        await _require_decider(uow, actor, dispute, departure, items)
        _require_leaver_heard(actor, dispute, departure)
    dispute.record_finding(by=actor.id, responsibility=cmd.responsibility,
                           reasons=cmd.reasons)
    return {**_result(dispute), "finding": dispute.finding}


def _disqualified(principal_id: str, dispute: Dispute, departure: Departure,
                  items: list[HandoverItem]) -> str | None:
    """Why ``principal_id`` may not decide ``dispute`` (no one judges their own cause), or
    None: its raiser, the leaver's manager, and whoever gives, receives, submitted or signed
    off an item it concerns."""
    if principal_id == dispute.raised_by:
        return "raised it"
    if principal_id == departure.manager_id:
        return "is the leaver's manager"
    if any(takes_part(principal_id, item) for item in items):
        return "takes part in an item it concerns"
    return None


async def _require_decider(uow: UnitOfWork, actor: Actor, dispute: Dispute,
                           departure: Departure, items: list[HandoverItem]) -> None:
    """With separation of duties: the case's HR owner decides, unless the owner is no longer
    active or is disqualified themself; then any HR who is not. (A closed case can no longer
    be handed over, so "hand it over first" would leave such a dispute undecidable.)"""
    why = _disqualified(actor.id, dispute, departure, items)
    if why is not None:
        raise ForbiddenError(f"{actor.id} {why}, so may not record dispute {dispute.id}'s "
                             "finding; another HR decides it")
    owner = departure.hr_owner_id
    if actor.id == owner or _disqualified(owner, dispute, departure, items) is not None:
        return
    if uow.directory is not None:
        try:
            if not (await uow.directory.get_principal(owner)).active:
                return
        except NotFoundError:
            return
    raise ForbiddenError(f"only the HR owner of departure {departure.id} ({owner}) may record "
                         f"dispute {dispute.id}'s finding")


def _require_leaver_heard(actor: Actor, dispute: Dispute, departure: Departure) -> None:
    """The leaver's side is on the record before HR decides: their own statement, or, when
    they do not answer (seed 000's sales manager had left a month before the claim), the
    deciding HR's statement saying so. A hard "leaver first" rule would let an accused leaver
    block the finding, and keep the case's legal hold, by staying silent."""
    if any(s["by"] in (departure.leaver_id, actor.id) for s in dispute.statements):
        return
    raise InvalidTransitionError(
        f"dispute {dispute.id}: the leaver ({departure.leaver_id}) has not stated; hear them "
        "first, or state on the record why you decide without them")
