"""Replacing one signer of an item.

An item's signer slots are fixed when its checklist is applied (an "hr" slot resolved to the
case's HR owner, a "manager" slot to the manager). After a hand-over to another HR, or when a
signer leaves the company, the case's HR owner gives that slot to someone else, with a reason,
instead of waiving the item; the rules on the item are ``HandoverItem.replace_signer``.
"""

from __future__ import annotations

from ledger.aggregates.departure import Departure
from ledger.aggregates.item import HandoverItem
from ledger.canonical import JSONObject
from ledger.errors import InvalidInputError
from ledger.service import commands as c
from ledger.service.context import Actor
from ledger.service.departure_cases import require_not_leaver, require_signer
from ledger.service.duties import require_case_owner
from ledger.service.item_cases import require_open
from ledger.service.policy import HR, require_role
from ledger.service.relation import hide_item
from ledger.service.unit_of_work import UnitOfWork


async def replace_item_signer(cmd: c.ReplaceItemSigner, actor: Actor,
                              uow: UnitOfWork) -> JSONObject:
    """The case's HR owner replaces one declared signer of an item with a known, active
    principal who may confirm items, or a department queue."""
    require_role(actor, HR, "replace an item's signers")
    item = await uow.get(HandoverItem, cmd.item_id, cmd.expected_version)
    departure = await uow.get(Departure, item.departure_id, read_only=True)  # a dependency
    hide_item(actor, item, departure)  # an item HR may not read answers as absent
    require_open(departure)
    require_not_leaver(actor, departure)
    require_case_owner(uow, actor, departure, "replace its items' signers")
    if cmd.signer == departure.leaver_id:
        raise InvalidInputError("the leaver cannot sign their own handover", field="signer")
    await require_signer(uow, cmd.signer, "signer")  # one who may confirm items
    item.replace_signer(by=actor.id, previous=cmd.previous, signer=cmd.signer,
                        reason=cmd.reason)
    return {"item_id": str(item.id), "state": item.state, "signers": list(item.signers),
            "pending_signers": item.pending_signers()}
