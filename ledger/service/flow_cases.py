"""Use cases on items: answering a question, escalating an overdue confirmation.

(Asking is a comment with ``question_to``: ``item_cases.comment_item``; required items and
deadlines are checked and recorded by submit and confirm, through ``item_flow``.)
"""

from __future__ import annotations

from ledger.aggregates.item import HandoverItem
from ledger.canonical import JSONObject
from ledger.service import commands as c
from ledger.service.context import Actor
from ledger.service.departure_cases import require_not_leaver
from ledger.service.item_cases import open_departure
from ledger.service.item_flow import escalation_target, today
from ledger.service.policy import HR, LEDGER_ACTOR_ID, REVIEWERS, require_role
from ledger.service.unit_of_work import UnitOfWork


async def answer_question(cmd: c.AnswerQuestion, actor: Actor, uow: UnitOfWork) -> JSONObject:
    """The person a question is addressed to answers it (003: "老刘需要在离职前完成所有问题的
    解答"); to whoever may not read the item, it is absent. Auditors and legal only read: they
    never write to an item, by answering either."""
    require_role(actor, REVIEWERS, "answer questions")
    item = await uow.get(HandoverItem, cmd.item_id)
    await open_departure(uow, item, actor)
    item.answer(by=actor.id, acting_for=actor.acting_for(), question_id=cmd.question_id,
                text=cmd.text)
    return {"item_id": str(item.id), "state": item.state, "question_id": cmd.question_id}


async def escalate_confirmation(cmd: c.EscalateConfirmation, actor: Actor,
                                uow: UnitOfWork) -> JSONObject:
    """Record that a receiver's confirmation is past its deadline, escalated to the case's HR
    owner or the leaver's manager (as the item's rule says), once per submission.

    HR posts this, or the ledger's own deadline worker (``system:ledger``, which nobody can
    authenticate as) running this same use case. An integration's ``system`` principal may
    not: it takes part in no case, and an escalation speaks for the case's HR.
    """
    ours = actor.id == LEDGER_ACTOR_ID
    if not ours:
        require_role(actor, HR, "escalate confirmations")
    item = await uow.get(HandoverItem, cmd.item_id)
    departure = await open_departure(uow, item, None if ours else actor)
    require_not_leaver(actor, departure)
    to = escalation_target(item, departure)
    item.escalate_confirmation(by=actor.id, today=today(uow).isoformat(), to=to,
                               channel=cmd.channel, message=cmd.message)
    return {"item_id": str(item.id), "state": item.state, "escalated_to": to,
            "confirm_by": item.confirm_by}
