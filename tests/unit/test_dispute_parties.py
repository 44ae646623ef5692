"""Who is a dispute's party: a department queue's members only once they acted on the item
(signed it off or submitted it); legal and auditors read, never state."""

from __future__ import annotations

import pytest

from ledger.aggregates.departure import Departure
from ledger.aggregates.dispute import Dispute
from ledger.aggregates.item import HandoverItem
from ledger.errors import ForbiddenError, NotFoundError
from ledger.service.context import Actor
from ledger.service.dispute_relation import dispute_party, require_stating_party


def case() -> tuple[Departure, HandoverItem, Dispute]:
    departure = Departure(leaver={"id": "wang.lei", "name": "王磊"}, manager_id="li.qiang",
                          hr_owner_id="hr.sun", notice_date="2026-11-01",
                          last_working_day="2026-11-30", reason="resignation",
                          approval_chain=[])
    settlement = HandoverItem(
        departure_id=str(departure.id), category="finance", title="离职结算", label="结算",
        acceptance_criteria="", giver_id="dept:finance", receiver="wang.lei", mandatory=True,
        priority="high", due_date=None, template_item_key=None)
    dispute = Dispute(departure_id=str(departure.id), item_ids=[str(settlement.id)],
                      raised_by="hr.sun", raised_as="hr", claim="结算有误")
    return departure, settlement, dispute


def test_a_queue_member_who_submitted_the_item_is_a_party_and_the_others_are_not() -> None:
    departure, settlement, dispute = case()
    settlement.submit(by="fin.zhou", on_behalf=False, note="结算单", evidence=[],
                      acting_for={"fin.zhou", "dept:finance"})
    assert dispute_party(Actor("fin.zhou", "finance"), dispute, departure,
                         [settlement]) == "giver"
    assert dispute_party(Actor("fin.li", "finance"), dispute, departure, [settlement]) is None


def test_auditors_read_a_dispute_but_never_state_in_it() -> None:
    departure, settlement, dispute = case()
    auditor = Actor("audit.x", "auditor")
    assert dispute_party(auditor, dispute, departure, [settlement]) == "auditor"
    with pytest.raises(ForbiddenError, match="does not state"):
        require_stating_party(auditor, dispute, departure, [settlement])
    with pytest.raises(NotFoundError):
        require_stating_party(Actor("it.qian", "it"), dispute, departure, [settlement])
