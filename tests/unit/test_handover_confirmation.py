"""The handover confirmation (交接确认书): its statement, who signs it, and the close it gates.

Seed 000: "交接双方在系统内签署'交接确认书'"; its dispute arose because there was
"没有双方的签字确认".
"""

from __future__ import annotations

import hashlib

import pytest

from ledger.aggregates.confirmation import (
    ConfirmationDue,
    NotSignatoryError,
    StaleConfirmationError,
    UnsignedConfirmationError,
)
from ledger.aggregates.departure import Departure, DepartureStateError
from ledger.aggregates.item import HandoverItem
from ledger.errors import ConfigurationError, InvalidInputError, InvalidTransitionError
from ledger.service.handover_statement import (
    confirmation_due,
    handover_statement,
    signatories,
    statement_digest,
)
from ledger.settings import Settings

HR = "hr.li"
LEAVER = "emp.zhang"
FILE = {"sha256": "ab" * 32, "size": 3, "name": "客户.xlsx", "media_type": "text/csv"}


def case() -> tuple[Departure, list[HandoverItem]]:
    """A case handing over: a client file confirmed by the successor, an IT item confirmed
    through the dept:it queue by qian, and a waived asset item."""
    departure = Departure(
        leaver={"id": LEAVER, "name": "张伟"}, manager_id="mgr.wang", hr_owner_id=HR,
        notice_date="2026-11-01", last_working_day="2026-11-30", reason="resigned",
        approval_chain=[])
    departure.submit_for_approval(by=HR)
    items = [item(departure, "客户资料", "zhao.min"), item(departure, "账号", "dept:it"),
             item(departure, "电脑", "dept:admin")]
    for one in items:
        departure.add_item(str(one.id))
    client, account, laptop = items
    client.record_upload(by=LEAVER, sha256=FILE["sha256"], size=3, name="客户.xlsx",
                         media_type="text/csv")
    client.submit(by=LEAVER, on_behalf=False, note="", evidence=[dict(FILE)])
    client.confirm(by="zhao.min", acting_for={"zhao.min"}, note="", signature=None)
    account.submit(by=LEAVER, on_behalf=False, note="", evidence=[])
    account.confirm(by="it.qian", acting_for={"it.qian", "dept:it"}, note="", signature=None)
    laptop.record_upload(by=LEAVER, sha256="cd" * 32, size=1, name="旧版.xlsx",
                         media_type="text/csv")
    laptop.waive(by=HR, reason="未配发")
    return departure, items


def item(departure: Departure, title: str, receiver: str) -> HandoverItem:
    return HandoverItem(departure_id=str(departure.id), category="documents", title=title,
                        label="", acceptance_criteria="", giver_id=LEAVER, receiver=receiver,
                        mandatory=True, priority="normal", due_date=None,
                        template_item_key=None)


def sign_all(departure: Departure, due: ConfirmationDue) -> None:
    for who in due.signatories:
        departure.sign_confirmation(by=who, due=due, statement_sha256=due.sha256,
                                    signature=None)


def test_the_statement_lists_every_item_its_state_signers_and_file_digests() -> None:
    departure, (client, account, laptop) = case()
    statement = handover_statement(departure, [laptop, client, account])
    lines = statement.split("\n")
    assert lines[0] == "交接确认书 / Handover confirmation"
    assert f"离职交接 / Departure: {departure.id}" in lines
    assert "离职人 / Leaver: 张伟 (emp.zhang)" in lines
    at = lines.index(f"事项 / Item: 客户资料 ({client.id})")
    assert lines[at + 1:at + 6] == [
        "状态 / State: confirmed", "交出人 / Giver: emp.zhang", "接收人 / Receiver: zhao.min",
        "签字 / Signed off by: zhao.min", f"文件 / File: 客户.xlsx sha256:{'ab' * 32}"]
    assert "签字 / Signed off by: it.qian" in lines
    draft = f"未提交的上传 / Uploaded, not submitted: 旧版.xlsx sha256:{'cd' * 32}"
    assert draft in lines  # every file digest of the case is on it
    waived = lines.index(f"事项 / Item: 电脑 ({laptop.id})")
    assert lines[waived + 1] == "状态 / State: waived"
    assert lines[waived + 4] == "签字 / Signed off by: 无 / none"
    assert lines[-2] == ("签署 / To be signed by: emp.zhang (leaver), it.qian (receiver), "
                         "zhao.min (receiver), hr.li (hr)")
    assert lines[-1] == "" and "\r" not in statement and "\n\n" not in statement


def test_the_statement_is_the_same_bytes_for_the_same_case_and_its_digest_is_sha256() -> None:
    departure, items = case()
    statement, due = confirmation_due(departure, items)
    assert statement == handover_statement(departure, list(reversed(items)))
    assert due.sha256 == statement_digest(statement) == hashlib.sha256(
        statement.encode()).hexdigest()


def test_signatories_are_the_leaver_each_principal_that_signed_an_item_off_and_hr() -> None:
    departure, items = case()
    assert signatories(departure, items) == {
        LEAVER: ("leaver",), "it.qian": ("receiver",), "zhao.min": ("receiver",), HR: ("hr",)}


def test_a_receiver_who_is_also_the_hr_owner_signs_once_as_both() -> None:
    departure, items = case()
    extra = item(departure, "离职面谈", HR)
    departure.add_item(str(extra.id))
    extra.submit(by=LEAVER, on_behalf=False, note="", evidence=[])
    extra.confirm(by=HR, acting_for={HR}, note="", signature=None)
    assert signatories(departure, [*items, extra])[HR] == ("receiver", "hr")


def test_close_is_refused_naming_who_has_not_signed_until_everyone_has() -> None:
    departure, items = case()
    _, due = confirmation_due(departure, items)
    departure.sign_confirmation(by="zhao.min", due=due, statement_sha256=due.sha256,
                                signature=None)
    with pytest.raises(UnsignedConfirmationError) as refused:
        departure.close(by=HR, items=[i.status() for i in items], note="", confirmation=due)
    assert refused.value.unsigned == [LEAVER, "it.qian", HR]
    assert isinstance(refused.value, InvalidTransitionError)
    sign_all_but = [w for w in due.signatories if w != "zhao.min"]
    for who in sign_all_but:
        departure.sign_confirmation(by=who, due=due, statement_sha256=due.sha256,
                                    signature=None)
    departure.close(by=HR, items=[i.status() for i in items], note="", confirmation=due)
    assert departure.state == "closed"
    [*_, closed] = departure.collect_events()
    assert closed.confirmation_sha256 == due.sha256  # type: ignore[attr-defined]


def test_without_a_required_confirmation_close_needs_only_the_gate() -> None:
    departure, items = case()
    departure.close(by=HR, items=[i.status() for i in items], note="")
    assert departure.state == "closed"


def test_a_signature_over_a_statement_that_changed_no_longer_counts() -> None:
    departure, items = case()
    _, before = confirmation_due(departure, items)
    sign_all(departure, before)
    assert departure.unsigned(before) == []
    items[2].comment(by=HR, text="说明")  # not on the statement: still the same bytes
    assert confirmation_due(departure, items)[1] == before
    laptop = item(departure, "门禁卡", "dept:admin")
    departure.add_item(str(laptop.id))
    laptop.waive(by=HR, reason="已收回")
    _, after = confirmation_due(departure, [*items, laptop])
    assert after.sha256 != before.sha256
    assert departure.unsigned(after) == list(after.signatories)
    with pytest.raises(UnsignedConfirmationError):
        departure.close(by=HR, items=[i.status() for i in [*items, laptop]], note="",
                        confirmation=after)


def test_signing_an_older_digest_is_refused_as_stale() -> None:
    departure, items = case()
    _, due = confirmation_due(departure, items)
    with pytest.raises(StaleConfirmationError, match="fetch it again"):
        departure.sign_confirmation(by=LEAVER, due=due, statement_sha256="00" * 32,
                                    signature=None)


def test_only_a_signatory_signs() -> None:
    departure, items = case()
    _, due = confirmation_due(departure, items)
    with pytest.raises(NotSignatoryError, match=r"mgr\.wang is not a signatory"):
        departure.sign_confirmation(by="mgr.wang", due=due, statement_sha256=due.sha256,
                                    signature=None)


def test_signing_the_same_statement_twice_is_refused() -> None:
    departure, items = case()
    _, due = confirmation_due(departure, items)
    departure.sign_confirmation(by=LEAVER, due=due, statement_sha256=due.sha256,
                                signature=None)
    with pytest.raises(InvalidTransitionError, match="already signed"):
        departure.sign_confirmation(by=LEAVER, due=due, statement_sha256=due.sha256,
                                    signature=None)


def test_a_closed_case_takes_no_more_signatures() -> None:
    departure, items = case()
    _, due = confirmation_due(departure, items)
    sign_all(departure, due)
    departure.close(by=HR, items=[i.status() for i in items], note="", confirmation=due)
    with pytest.raises(DepartureStateError):
        departure.sign_confirmation(by=LEAVER, due=due, statement_sha256=due.sha256,
                                    signature=None)


def test_a_legal_hold_is_recorded_after_close_and_names_only_the_cases_items() -> None:
    departure, items = case()
    departure.close(by=HR, items=[i.status() for i in items], note="")
    with pytest.raises(InvalidInputError, match="not in this departure"):
        departure.place_legal_hold(by=HR, dispute_id="d-1", item_ids=["elsewhere"])
    departure.place_legal_hold(by="zhao.min", dispute_id="d-1", item_ids=[str(items[0].id)])
    assert departure.legal_hold and departure.dispute_ids == ["d-1"]


def test_the_close_setting_is_required_unless_the_environment_makes_it_optional() -> None:
    assert Settings.from_env({}).close_requires_confirmation is True
    assert Settings.from_env({"LEDGER_CLOSE_REQUIRES_CONFIRMATION": "required"}
                             ).close_requires_confirmation is True
    assert Settings.from_env({"LEDGER_CLOSE_REQUIRES_CONFIRMATION": "optional"}
                             ).close_requires_confirmation is False
    with pytest.raises(ConfigurationError, match="required or optional"):
        Settings.from_env({"LEDGER_CLOSE_REQUIRES_CONFIRMATION": "yes"})


# --- a signatory who cannot or will not sign: HR excuses them with a reason; the close records
# who did not sign and why (000: "没有双方的签字确认" must be plain on the record)
def test_close_passes_without_an_excused_signature_and_records_who_and_why() -> None:
    departure, items = case()
    _, due = confirmation_due(departure, items)
    for who in due.signatories:
        if who != LEAVER:
            departure.sign_confirmation(by=who, due=due, statement_sha256=due.sha256,
                                        signature=None)
    with pytest.raises(UnsignedConfirmationError, match=LEAVER):
        departure.close(by=HR, items=[i.status() for i in items], note="", confirmation=due)
    departure.excuse_confirmation_signature(by=HR, due=due, signatory=LEAVER,
                                            statement_sha256=due.sha256,
                                            reason="账号已停用，本人拒绝签字")
    departure.close(by=HR, items=[i.status() for i in items], note="", confirmation=due)
    record = {"confirmation_not_signed_by": LEAVER, "parties": ["leaver"],
              "statement_sha256": due.sha256, "reason": "账号已停用，本人拒绝签字",
              "excused_by": HR}
    assert departure.state == "closed"
    assert departure.close_warnings == [record]
    assert departure.closure is not None
    assert departure.closure["confirmation_not_signed_by"] == [record]
    events = departure.collect_events()
    assert type(events[-2]).__name__ == "ConfirmationSignatureExcused"
    assert vars(events[-1])["warnings"] == [record]


def test_an_exemption_names_a_digest_and_lapses_when_the_statement_changes() -> None:
    departure, items = case()
    _, due = confirmation_due(departure, items)
    with pytest.raises(StaleConfirmationError):
        departure.excuse_confirmation_signature(by=HR, due=due, signatory=LEAVER,
                                                statement_sha256="00" * 32, reason="离职")
    departure.excuse_confirmation_signature(by=HR, due=due, signatory=LEAVER,
                                            statement_sha256=due.sha256, reason="离职")
    assert list(departure.excused(due)) == [LEAVER]
    changed = type(due)("11" * 32, due.signatories)
    assert departure.excused(changed) == {}


def test_exemptions_are_refused_for_strangers_the_owner_and_those_who_signed() -> None:
    departure, items = case()
    _, due = confirmation_due(departure, items)
    with pytest.raises(InvalidInputError, match="not a signatory"):
        departure.excuse_confirmation_signature(by=HR, due=due, signatory="stranger",
                                                statement_sha256=due.sha256, reason="x")
    with pytest.raises(InvalidInputError, match="themself"):
        departure.excuse_confirmation_signature(by=HR, due=due, signatory=HR,
                                                statement_sha256=due.sha256, reason="x")
    with pytest.raises(InvalidInputError):
        departure.excuse_confirmation_signature(by=HR, due=due, signatory=LEAVER,
                                                statement_sha256=due.sha256, reason=" ")
    departure.sign_confirmation(by=LEAVER, due=due, statement_sha256=due.sha256,
                                signature=None)
    with pytest.raises(InvalidTransitionError, match="already signed"):
        departure.excuse_confirmation_signature(by=HR, due=due, signatory=LEAVER,
                                                statement_sha256=due.sha256, reason="x")


def test_an_exemption_replays_from_its_event() -> None:
    departure, items = case()
    _, due = confirmation_due(departure, items)
    departure.excuse_confirmation_signature(by=HR, due=due, signatory=LEAVER,
                                            statement_sha256=due.sha256, reason="拒签")
    replayed: Departure | None = None
    for event in departure.collect_events():
        replayed = event.mutate(replayed)  # type: ignore[arg-type]
    assert replayed is not None
    assert replayed.confirmation_exemptions == departure.confirmation_exemptions


# --- the lines of each item's submission (issue 9: "逐条签字确认"; seed 002's CHO case turned on
# one unconfirmed line of the risk register)

def test_the_statement_lists_each_submitted_line_with_who_acknowledged_it() -> None:
    departure, items = case()
    risks = item(departure, "风险台账", "zhao.min")
    departure.add_item(str(risks.id))
    risks.submit(by=LEAVER, on_behalf=False, note="", evidence=[], lines=[
        {"id": "r1", "text": "银行U盾\\在财务"}, {"id": "r2", "text": "a\u202eb 合同"}])
    risks.confirm(by="zhao.min", acting_for={"zhao.min"}, note="", signature=None,
                  acknowledged=["r1", "r2"])
    queue = item(departure, "系统账号", "dept:it")
    departure.add_item(str(queue.id))
    queue.submit(by=LEAVER, on_behalf=False, note="", evidence=[],
                 lines=[{"id": "vpn", "text": "VPN"}])
    statement = handover_statement(departure, [*items, risks, queue])
    lines = statement.split("\n")
    at = lines.index(f"事项 / Item: 风险台账 ({risks.id})")
    assert lines[at + 5:at + 7] == [
        "条目 / Line: r1 银行U盾\\\\在财务 (确认 / acknowledged by: zhao.min)",
        "条目 / Line: r2 a\\u{202E}b 合同 (确认 / acknowledged by: zhao.min)"]
    assert "条目 / Line: vpn VPN (确认 / acknowledged by: 无 / none)" in lines
    assert statement == handover_statement(departure, [queue, risks, *items])  # no times
