"""Dispute: raised with a claim, parties state, HR finds (and that closes it).

Seed 002: "责任界定为'接收方未履行确认义务'".
"""

from __future__ import annotations

import pytest

from ledger.aggregates.dispute import Dispute, DisputeClosedError
from ledger.errors import InvalidInputError
from tests.support.timed import timeless

UPLOAD = "cd" * 32


def raised() -> Dispute:
    return Dispute(departure_id="d-1", item_ids=["i-1"], raised_by="zhao.min",
                   raised_as="receiver", claim="客户最新需求被隐瞒")


def test_a_raised_dispute_is_open_with_its_claim_and_items() -> None:
    dispute = raised()
    assert (dispute.state, dispute.claim, dispute.item_ids) == ("open", "客户最新需求被隐瞒",
                                                                ["i-1"])
    assert dispute.statements == [] and dispute.finding is None


def test_parties_state_citing_case_files_and_the_disputes_own_uploads() -> None:
    dispute = raised()
    dispute.record_upload(by="emp.zhang", sha256=UPLOAD, size=5, name="邮件.eml",
                          media_type="message/rfc822")
    dispute.add_statement(by="emp.zhang", party="leaver", text="已当面交接",
                          evidence=[{"sha256": UPLOAD}, {"sha256": "ab" * 32, "item_id": "i-1"}])
    assert timeless(dispute.statements) == [{
        "by": "emp.zhang", "party": "leaver", "text": "已当面交接",
        "evidence": [{"sha256": UPLOAD}, {"sha256": "ab" * 32, "item_id": "i-1"}]}]
    assert dispute.uploads[UPLOAD]["name"] == "邮件.eml"


def test_a_statement_may_not_cite_a_file_nobody_uploaded_to_the_dispute() -> None:
    with pytest.raises(InvalidInputError, match="not uploaded to dispute"):
        raised().add_statement(by="zhao.min", party="receiver", text="见附件",
                               evidence=[{"sha256": UPLOAD}])


def test_a_statement_needs_text() -> None:
    with pytest.raises(InvalidInputError):
        raised().add_statement(by="zhao.min", party="receiver", text="  ", evidence=[])


@pytest.mark.parametrize("responsibility", ["giver", "receiver", "shared", "none"])
def test_hrs_finding_names_responsibility_and_reasons_and_closes_the_dispute(
        responsibility: str) -> None:
    dispute = raised()
    dispute.record_finding(by="hr.li", responsibility=responsibility,
                           reasons="接收方未履行确认义务")
    assert dispute.state == "found"
    assert timeless(dispute.finding) == {"by": "hr.li", "responsibility": responsibility,
                               "reasons": "接收方未履行确认义务"}


def test_a_finding_needs_reasons_and_a_known_responsibility() -> None:
    with pytest.raises(InvalidInputError):
        raised().record_finding(by="hr.li", responsibility="receiver", reasons=" ")
    with pytest.raises(InvalidInputError, match="responsibility"):
        raised().record_finding(by="hr.li", responsibility="everyone", reasons="r")


def test_nothing_follows_the_finding() -> None:
    dispute = raised()
    dispute.record_finding(by="hr.li", responsibility="none", reasons="记录一致")
    with pytest.raises(DisputeClosedError):
        dispute.add_statement(by="emp.zhang", party="leaver", text="补充", evidence=[])
    with pytest.raises(DisputeClosedError):
        dispute.record_upload(by="emp.zhang", sha256=UPLOAD, size=1, name="a.txt",
                              media_type="text/plain")
    with pytest.raises(DisputeClosedError):
        dispute.record_finding(by="hr.li", responsibility="giver", reasons="再议")
