"""HandoverItem state machine: every transition DESIGN.md allows, and every one it forbids.

open → submitted → confirmed; submitted → rejected → (resubmit) submitted; open, submitted or
rejected → waived. Comments and external evidence are recorded in every state.
"""

from collections.abc import Callable

import pytest

from ledger.aggregates.codec import encode_event
from ledger.aggregates.item import (
    HandoverItem,
    ItemAlreadyDoneError,
    ItemNotOpenError,
    ItemNotSubmittedError,
    ItemStatus,
    NotGiverError,
    NotReceiverError,
)
from ledger.canonical import JSONObject
from ledger.errors import ForbiddenError, InvalidInputError, InvalidTransitionError

GIVER = "emp-leaver"
RECEIVER = "emp-successor"
HR = "hr-li"
EVIDENCE: list[JSONObject] = [
    {"sha256": "ab" * 32, "name": "客户清单.xlsx", "size": 2048},
]
CONTRACTS: JSONObject = {"sha256": "cd" * 32, "name": "contracts-2024.zip", "size": 99}
ALL_STATES = ("open", "submitted", "rejected", "confirmed", "waived")
NOT_DONE_STATES = ("open", "submitted", "rejected")
DONE_STATES = ("confirmed", "waived")


def new_item(receiver: str = RECEIVER) -> HandoverItem:
    return HandoverItem(
        departure_id="7f1d9c2e-0000-4000-8000-000000000001", category="clients",
        title="Client list", label="客户清单",
        acceptance_criteria="Every active client, with needs",
        giver_id=GIVER, receiver=receiver, mandatory=True, priority="high",
        due_date="2025-03-31", template_item_key="sales.clients",
    )


def upload_to(item: HandoverItem, evidence: JSONObject, by: str = GIVER) -> None:
    """Record the upload of the file ``evidence`` cites."""
    item.record_upload(by=by, sha256=str(evidence["sha256"]), size=int(str(evidence["size"])),
                       name=str(evidence["name"]), media_type="application/octet-stream")


def item_in(state: str, receiver: str = RECEIVER) -> HandoverItem:
    """Return an item driven into ``state`` (the files of EVIDENCE and CONTRACTS uploaded to
    it), with its pending events already collected."""
    item = new_item(receiver)
    upload_to(item, EVIDENCE[0])
    upload_to(item, CONTRACTS)
    if state in ("submitted", "rejected", "confirmed"):
        item.submit(by=GIVER, on_behalf=False, note="all in the CRM", evidence=EVIDENCE)
    if state == "rejected":
        item.reject(by=receiver, acting_for={receiver}, reason="the 2024 contracts are missing")
    if state == "confirmed":
        item.confirm(by=receiver, acting_for={receiver}, note="checked", signature=None)
    if state == "waived":
        item.waive(by=HR, reason="client moved to another branch")
    item.collect_events()
    assert item.state == state
    return item


def recorded(item: HandoverItem) -> list[tuple[str, dict[str, object]]]:
    """Return (pinned topic, payload) of every pending event, as an entry records it,
    collecting them."""
    return [encode_event(e) for e in item.collect_events()]


def test_new_item_is_open_and_records_its_creation() -> None:
    item = new_item()

    assert item.state == "open"
    assert item.submissions == 0
    assert recorded(item) == [("ItemCreated", {
        "departure_id": "7f1d9c2e-0000-4000-8000-000000000001", "category": "clients",
        "title": "Client list", "label": "客户清单",
        "acceptance_criteria": "Every active client, with needs", "giver_id": GIVER,
        "receiver": RECEIVER, "mandatory": True, "priority": "high", "due_date": "2025-03-31",
        "template_item_key": "sales.clients", "satisfied_by": None,
        "department_may_confirm_directly": False, "requires": None,
        "unresolved_requires": None, "confirm_within_working_days": None, "escalate_to": None,
        "urgent": False,
    })]


def test_giver_submits_an_open_item_with_evidence() -> None:
    item = item_in("open")

    item.submit(by=GIVER, on_behalf=False, note="all in the CRM", evidence=EVIDENCE)

    assert item.state == "submitted"
    assert item.submissions == 1
    assert item.evidence == EVIDENCE
    assert recorded(item) == [("ItemSubmitted", {
        "by": GIVER, "on_behalf": False, "note": "all in the CRM", "evidence": EVIDENCE,
        "submission": 1, "on_evidence": None, "confirm_by": None,
    })]


def test_giver_resubmits_a_rejected_item_and_the_submission_counter_increases() -> None:
    item = item_in("rejected")
    new_evidence: list[JSONObject] = [CONTRACTS]

    item.submit(by=GIVER, on_behalf=False, note="added the 2024 contracts",
                evidence=new_evidence)

    assert item.state == "submitted"
    assert item.submissions == 2
    assert item.evidence == new_evidence
    assert recorded(item) == [("ItemSubmitted", {
        "by": GIVER, "on_behalf": False, "note": "added the 2024 contracts",
        "evidence": new_evidence, "submission": 2, "on_evidence": None, "confirm_by": None,
    })]


def test_reviews_after_a_resubmission_name_the_latest_submission() -> None:
    item = item_in("rejected")
    item.submit(by=GIVER, on_behalf=False, note="again", evidence=[])
    item.collect_events()

    item.confirm(by=RECEIVER, acting_for={RECEIVER}, note="ok now", signature=None)

    [(_, payload)] = recorded(item)
    assert payload["submission"] == 2


@pytest.mark.parametrize("state", ["submitted", "confirmed", "waived"])
def test_refuses_to_submit_an_item_that_is_not_open(state: str) -> None:
    item = item_in(state)

    with pytest.raises(ItemNotOpenError, match=f"is {state}; it cannot be submitted"):
        item.submit(by=GIVER, on_behalf=False, note="again", evidence=[])

    assert item.state == state
    assert recorded(item) == []


def test_refuses_submission_by_someone_who_is_not_the_giver() -> None:
    item = item_in("open")

    with pytest.raises(NotGiverError, match=r"colleague-9 is not the giver \(emp-leaver\) of item"):
        item.submit(by="colleague-9", on_behalf=False, note="", evidence=[])

    assert issubclass(NotGiverError, ForbiddenError)
    assert item.state == "open"
    assert recorded(item) == []


def test_records_hr_submitting_on_the_givers_behalf() -> None:
    item = item_in("open")

    item.submit(by=HR, on_behalf=True, note="leaver sent the files by mail", evidence=EVIDENCE)

    assert item.state == "submitted"
    [(topic, payload)] = recorded(item)
    assert topic == "ItemSubmitted"
    assert payload["by"] == HR
    assert payload["on_behalf"] is True


def test_giver_claiming_on_behalf_is_recorded_as_their_own_submission() -> None:
    item = item_in("open")

    item.submit(by=GIVER, on_behalf=True, note="", evidence=[])

    [(_, payload)] = recorded(item)
    assert payload["by"] == GIVER
    assert payload["on_behalf"] is False


def test_receiver_confirms_a_submitted_item() -> None:
    item = item_in("submitted")
    signature: JSONObject = {"alg": "ed25519", "key_id": "k1", "sig": "c2ln"}

    item.confirm(by=RECEIVER, acting_for={RECEIVER}, note="received", signature=signature)

    assert item.state == "confirmed"
    assert item.confirmed_by == RECEIVER
    assert recorded(item) == [("ItemConfirmed", {
        "by": RECEIVER, "receiver": RECEIVER, "submission": 1, "note": "received",
        "signature": signature, "direct": False,
    })]


def test_receiver_rejects_a_submission_with_a_reason() -> None:
    item = item_in("submitted")

    item.reject(by=RECEIVER, acting_for={RECEIVER}, reason="the 2024 contracts are missing")

    assert item.state == "rejected"
    assert item.last_decision_reason == "the 2024 contracts are missing"
    assert recorded(item) == [("ItemRejected", {
        "by": RECEIVER, "receiver": RECEIVER, "submission": 1,
        "reason": "the 2024 contracts are missing",
    })]


@pytest.mark.parametrize("state", ["open", "rejected"])
def test_rejects_confirmation_of_unsubmitted_item(state: str) -> None:
    item = item_in(state)

    with pytest.raises(ItemNotSubmittedError, match="only a submitted item can be reviewed"):
        item.confirm(by=RECEIVER, acting_for={RECEIVER}, note="", signature=None)

    assert item.state == state
    assert recorded(item) == []


@pytest.mark.parametrize("state", ["open", "rejected"])
def test_rejects_rejection_of_unsubmitted_item(state: str) -> None:
    item = item_in(state)

    with pytest.raises(ItemNotSubmittedError, match="only a submitted item can be reviewed"):
        item.reject(by=RECEIVER, acting_for={RECEIVER}, reason="incomplete")

    assert recorded(item) == []


def test_refuses_confirmation_by_someone_who_is_not_the_receiver() -> None:
    item = item_in("submitted")

    with pytest.raises(NotReceiverError, match=r"only the receiver \(emp-successor\) reviews"):
        item.confirm(by=GIVER, acting_for={GIVER}, note="it's fine", signature=None)

    assert issubclass(NotReceiverError, ForbiddenError)
    assert item.state == "submitted"
    assert recorded(item) == []


def test_refuses_rejection_by_someone_who_is_not_the_receiver() -> None:
    item = item_in("submitted")

    with pytest.raises(NotReceiverError, match=r"only the receiver \(emp-successor\) reviews"):
        item.reject(by="colleague-9", acting_for={"colleague-9"}, reason="looks thin")

    assert item.state == "submitted"
    assert recorded(item) == []


def test_anyone_acting_for_the_department_queue_confirms_its_items() -> None:
    item = item_in("submitted", receiver="dept:it")

    item.confirm(by="it-wang", acting_for=frozenset({"it-wang", "dept:it"}),
                 note="accounts disabled", signature=None)

    assert item.state == "confirmed"
    assert item.confirmed_by == "it-wang"
    [(_, payload)] = recorded(item)
    assert payload["by"] == "it-wang"
    assert payload["receiver"] == "dept:it"


def test_anyone_acting_for_the_department_queue_rejects_its_items() -> None:
    item = item_in("submitted", receiver="dept:it")

    item.reject(by="it-zhao", acting_for=frozenset({"it-zhao", "dept:it"}),
                reason="laptop not returned")

    assert item.state == "rejected"


def test_refuses_department_item_review_by_another_department() -> None:
    item = item_in("submitted", receiver="dept:it")

    with pytest.raises(NotReceiverError, match=r"only the receiver \(dept:it\) reviews"):
        item.confirm(by="fin-qian", acting_for=frozenset({"fin-qian", "dept:finance"}),
                     note="", signature=None)


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_rejection_needs_a_non_blank_reason(reason: str) -> None:
    item = item_in("submitted")

    with pytest.raises(InvalidInputError, match="a reason is required") as caught:
        item.reject(by=RECEIVER, acting_for={RECEIVER}, reason=reason)

    assert caught.value.field == "reason"
    assert item.state == "submitted"
    assert recorded(item) == []


@pytest.mark.parametrize("state", NOT_DONE_STATES)
def test_hr_waives_an_item_that_is_not_done(state: str) -> None:
    item = item_in(state)

    item.waive(by=HR, reason="client moved to another branch")

    assert item.state == "waived"
    assert item.last_decision_reason == "client moved to another branch"
    assert recorded(item) == [("ItemWaived", {
        "by": HR, "reason": "client moved to another branch", "previous_state": state,
    })]


@pytest.mark.parametrize("reason", ["", "  "])
def test_waiving_needs_a_non_blank_reason(reason: str) -> None:
    item = item_in("open")

    with pytest.raises(InvalidInputError, match="a reason is required"):
        item.waive(by=HR, reason=reason)

    assert item.state == "open"


ACTIONS_ON_DONE_ITEMS: dict[str, Callable[[HandoverItem], None]] = {
    "waive": lambda item: item.waive(by=HR, reason="no longer needed"),
    "reassign": lambda item: item.reassign(by=HR, receiver="emp-other", reason="reorg"),
    "confirm": lambda item: item.confirm(
        by=item.receiver, acting_for={item.receiver}, note="", signature=None),
    "reject": lambda item: item.reject(
        by=item.receiver, acting_for={item.receiver}, reason="changed my mind"),
}


@pytest.mark.parametrize("action", sorted(ACTIONS_ON_DONE_ITEMS))
@pytest.mark.parametrize("state", DONE_STATES)
def test_refuses_to_act_on_an_item_that_is_already_done(state: str, action: str) -> None:
    item = item_in(state)

    with pytest.raises(ItemAlreadyDoneError, match=f"is already {state}"):
        ACTIONS_ON_DONE_ITEMS[action](item)

    assert item.state == state
    assert recorded(item) == []


@pytest.mark.parametrize("state", NOT_DONE_STATES)
def test_reassigns_an_item_that_is_not_done_without_changing_its_state(state: str) -> None:
    item = item_in(state)

    item.reassign(by=HR, receiver="dept:admin", reason="successor left too")

    assert item.state == state
    assert item.receiver == "dept:admin"
    assert recorded(item) == [("ItemReassigned", {
        "by": HR, "previous_receiver": RECEIVER, "receiver": "dept:admin",
        "reason": "successor left too",
    })]


def test_only_the_new_receiver_reviews_a_reassigned_item() -> None:
    item = item_in("submitted")
    item.reassign(by=HR, receiver="emp-new", reason="successor changed")

    with pytest.raises(NotReceiverError):
        item.confirm(by=RECEIVER, acting_for={RECEIVER}, note="", signature=None)
    item.confirm(by="emp-new", acting_for={"emp-new"}, note="", signature=None)

    assert item.state == "confirmed"


def test_refuses_to_reassign_an_item_to_its_current_receiver() -> None:
    item = item_in("open")

    with pytest.raises(InvalidTransitionError, match="already goes to emp-successor"):
        item.reassign(by=HR, receiver=RECEIVER, reason="no change")

    assert recorded(item) == []


@pytest.mark.parametrize("state", ALL_STATES)
def test_comments_are_recorded_in_every_state_without_changing_it(state: str) -> None:
    item = item_in(state)

    item.comment(by=RECEIVER, text="请补充客户最新需求")

    assert item.state == state
    assert recorded(item) == [("ItemCommented", {"by": RECEIVER, "text": "请补充客户最新需求"})]


@pytest.mark.parametrize("state", ALL_STATES)
def test_department_evidence_is_recorded_in_every_state_without_changing_it(state: str) -> None:
    item = item_in(state, receiver="dept:it")
    details: JSONObject = {"account": "zhang.wei", "disabled_at": "2025-03-31T18:00:00Z"}

    item.record_external_evidence(by="it-wang", role="it", source="okta",
                                  kind="account_disabled", reference="evt-123", details=details)

    assert item.state == state
    assert recorded(item) == [("ItemExternalEvidenceRecorded", {
        "by": "it-wang", "source": "okta", "kind": "account_disabled",
        "reference": "evt-123", "details": details,
    })]


@pytest.mark.parametrize("state", ALL_STATES)
def test_status_gives_the_gate_the_items_id_title_mandatory_flag_and_state(state: str) -> None:
    item = item_in(state)

    assert item.status() == ItemStatus(str(item.id), "Client list", True, state)


# --- evidence files: an upload is an event; a submission cites only this item's uploads -----

@pytest.mark.parametrize("state", ["open", "submitted", "rejected"])
def test_an_upload_is_recorded_as_an_event_in_every_state_not_done(state: str) -> None:
    item = item_in(state)

    item.record_upload(by=GIVER, sha256="ef" * 32, size=7, name="  交接清单.pdf ",
                       media_type="Application/PDF; charset=binary")

    assert recorded(item) == [("ItemEvidenceUploaded", {
        "by": GIVER, "sha256": "ef" * 32, "size": 7, "name": "交接清单.pdf",
        "media_type": "application/pdf"})]
    assert item.uploads["ef" * 32] == {"by": GIVER, "size": 7, "name": "交接清单.pdf",
                                       "media_type": "application/pdf"}
    assert item.state == state


@pytest.mark.parametrize("state", ["confirmed", "waived"])
def test_an_upload_to_a_done_item_is_refused(state: str) -> None:
    item = item_in(state)

    with pytest.raises(ItemAlreadyDoneError, match=f"already {state}"):
        item.record_upload(by=GIVER, sha256="ef" * 32, size=7, name="late.pdf",
                           media_type="application/pdf")


def test_a_submission_citing_a_file_not_uploaded_to_the_item_is_refused_naming_it() -> None:
    item = item_in("open")
    elsewhere = {"sha256": "99" * 32, "name": "other-case.pdf", "size": 10}

    with pytest.raises(InvalidInputError, match=f"evidence {'99' * 32} was not uploaded") as e:
        item.submit(by=GIVER, on_behalf=False, note="", evidence=[*EVIDENCE, elsewhere])

    assert e.value.field == f"evidence.{'99' * 32}"
    assert item.state == "open"
    assert recorded(item) == []


def test_a_submission_may_not_rename_an_uploaded_file_the_receiver_will_sign_for() -> None:
    item = item_in("open")
    upload_to(item, {**EVIDENCE[0], "name": "客户清单-v2.xlsx"})  # the same bytes, again
    item.collect_events()
    renamed = {**EVIDENCE[0], "name": "客户名单-final.xlsx"}

    with pytest.raises(InvalidInputError, match="cite it as uploaded") as e:
        item.submit(by=GIVER, on_behalf=False, note="", evidence=[renamed])

    assert e.value.field == f"evidence.{'ab' * 32}.name"
    assert recorded(item) == []
    item.submit(by=GIVER, on_behalf=False, note="", evidence=[
        {**EVIDENCE[0], "name": "客户清单-v2.xlsx"}])  # either name it was uploaded under
    assert item.state == "submitted"


def test_a_submission_citing_an_uploaded_file_with_another_size_is_refused() -> None:
    item = item_in("open")
    wrong = {**EVIDENCE[0], "size": 2049}

    with pytest.raises(InvalidInputError, match="with size 2048, not 2049") as e:
        item.submit(by=GIVER, on_behalf=False, note="", evidence=[wrong])

    assert e.value.field == f"evidence.{'ab' * 32}.size"
    assert recorded(item) == []


def test_a_submission_citing_a_file_under_a_name_with_a_control_character_is_refused() -> None:
    item = item_in("open")

    with pytest.raises(InvalidInputError, match="U\\+202E") as e:
        item.submit(by=GIVER, on_behalf=False, note="",
                    evidence=[{**EVIDENCE[0], "name": "invoice\u202efdp.exe"}])

    assert e.value.field == f"evidence.{'ab' * 32}.name"


@pytest.mark.parametrize(("name", "media_type", "field", "message"), [
    ("a\nb.txt", "text/plain", "filename", "U\\+000A"),
    ("report\u202efdp.exe", "text/plain", "filename", "RIGHT-TO-LEFT OVERRIDE"),
    ("zero\u200bwidth.txt", "text/plain", "filename", "ZERO WIDTH SPACE"),
    ("../../etc/passwd", "text/plain", "filename", "U\\+002F"),
    ("C:\\Users\\x.pdf", "text/plain", "filename", "U\\+005C"),
    ("x" * 201, "text/plain", "filename", "1-200 characters"),
    ("   ", "text/plain", "filename", "1-200 characters"),
    ("..", "text/plain", "filename", "may not be '..'"),
    ("ok.pdf", "pdf", "media_type", "RFC 6838"),
    ("ok.pdf", "text/html\r\nX-Injected: 1", "media_type", "RFC 6838"),
    ("ok.pdf", "application/" + "x" * 300, "media_type", "at most 255"),
    ("ok.pdf", "text/ plain", "media_type", "RFC 6838"),
])
def test_an_upload_with_a_bad_name_or_media_type_is_refused_naming_the_field(
        name: str, media_type: str, field: str, message: str) -> None:
    item = item_in("open")

    with pytest.raises(InvalidInputError, match=message) as e:
        item.record_upload(by=GIVER, sha256="ef" * 32, size=1, name=name, media_type=media_type)

    assert e.value.field == field
    assert recorded(item) == []
    assert "ef" * 32 not in item.uploads
IAM_RULE: JSONObject = {"source_role": "system", "kind": "account_disabled"}


def revocable_item(direct: bool = False, rules: list[JSONObject] | None = None) -> HandoverItem:
    item = HandoverItem(
        departure_id="7f1d9c2e-0000-4000-8000-000000000001", category="accounts_permissions",
        title="SSO revoked", label="停用SSO", acceptance_criteria="SSO disabled",
        giver_id=GIVER, receiver="dept:it", mandatory=True, priority="critical",
        due_date=None, template_item_key="it-revoke-vpn-sso",
        satisfied_by=[IAM_RULE] if rules is None else rules,
        department_may_confirm_directly=direct,
    )
    item.collect_events()
    return item


def test_satisfying_system_evidence_submits_an_open_item_on_the_systems_word() -> None:
    item = revocable_item()

    item.record_external_evidence(by="iam", role="system", source="IAM",
                                  kind="account_disabled", reference="T-1", details={})

    assert (item.state, item.submitted_by, item.submissions) == ("submitted", "iam", 1)
    [(evidence_type, _), (submitted_type, submitted)] = recorded(item)
    assert (evidence_type, submitted_type) == ("ItemExternalEvidenceRecorded", "ItemSubmitted")
    assert submitted["by"] == "iam"
    assert submitted["on_evidence"] == 2  # the version of the evidence event in this stream
    assert submitted["on_behalf"] is False


def test_the_system_that_submitted_an_item_never_reviews_it_and_its_department_does() -> None:
    item = revocable_item()
    item.record_external_evidence(by="iam", role="system", source="IAM",
                                  kind="account_disabled", reference="T-1", details={})
    with pytest.raises(NotReceiverError):
        item.confirm(by="iam", acting_for={"iam", "dept:it"}, note="", signature=None)

    item.confirm(by="it-wang", acting_for={"it-wang", "dept:it"}, note="ok", signature=None)
    assert (item.state, item.confirmed_by) == ("confirmed", "it-wang")


@pytest.mark.parametrize(("role", "by", "kind"), [
    ("system", "iam", "laptop_returned"),  # a kind the checklist item does not name
    ("finance", "fin-zhou", "account_disabled"),  # another department's queue
    ("admin", "adm-wu", "account_disabled"),
])
def test_refuses_evidence_from_a_source_the_checklist_item_does_not_name(
        role: str, by: str, kind: str) -> None:
    item = revocable_item()

    with pytest.raises(ForbiddenError, match="takes external evidence only from"):
        item.record_external_evidence(by=by, role=role, source="x", kind=kind, reference="",
                                      details={})
    assert recorded(item) == []


def test_a_rule_naming_one_system_principal_refuses_every_other_system() -> None:
    item = revocable_item(rules=[{**IAM_RULE, "principal_id": "iam"}])

    with pytest.raises(ForbiddenError):
        item.record_external_evidence(by="iam-2", role="system", source="IAM",
                                      kind="account_disabled", reference="", details={})
    item.record_external_evidence(by="iam", role="system", source="IAM",
                                  kind="account_disabled", reference="", details={})
    assert item.state == "submitted"


def test_satisfying_evidence_on_a_submitted_item_is_recorded_without_a_new_submission() -> None:
    item = revocable_item()
    item.submit(by=GIVER, on_behalf=False, note="please revoke", evidence=[])
    item.collect_events()

    item.record_external_evidence(by="iam", role="system", source="IAM",
                                  kind="account_disabled", reference="T-2", details={})

    assert [t for t, _ in recorded(item)] == ["ItemExternalEvidenceRecorded"]
    assert (item.submitted_by, item.submissions) == (GIVER, 1)


def test_the_department_confirms_an_open_item_directly_where_the_checklist_allows() -> None:
    item = revocable_item(direct=True)

    item.confirm(by="it-wang", acting_for={"it-wang", "dept:it"}, note="revoked myself",
                 signature=None)

    assert item.state == "confirmed"
    [(_, payload)] = recorded(item)
    assert (payload["direct"], payload["submission"]) == (True, 0)


def test_refuses_a_direct_confirmation_where_the_checklist_does_not_allow_it() -> None:
    item = revocable_item(direct=False)

    with pytest.raises(ItemNotSubmittedError):
        item.confirm(by="it-wang", acting_for={"it-wang", "dept:it"}, note="", signature=None)


def test_refuses_a_direct_confirmation_by_the_giver_or_another_department() -> None:
    item = revocable_item(direct=True)

    with pytest.raises(NotReceiverError):
        item.confirm(by=GIVER, acting_for={GIVER, "dept:it"}, note="", signature=None)
    with pytest.raises(NotReceiverError):
        item.confirm(by="fin-zhou", acting_for={"fin-zhou", "dept:finance"}, note="",
                     signature=None)
    assert recorded(item) == []
