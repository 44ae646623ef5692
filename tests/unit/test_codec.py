"""Aggregates survive the trip through entries, and decoding only instantiates pinned events."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate

from ledger.aggregates.codec import (
    EVENT_CLASSES,
    decode_event,
    encode_event,
    replay,
    stream_type_of,
)
from ledger.aggregates.confirmation import ConfirmationDue
from ledger.aggregates.departure import Departure
from ledger.aggregates.dispute import Dispute
from ledger.aggregates.item import HandoverItem, ItemStatus
from ledger.aggregates.template import Template
from ledger.entry import Entry, decode_entry, encode_entry
from ledger.errors import VerificationError
from ledger.service.context import Actor, RequestContext
from ledger.service.unit_of_work import UnitOfWork
from ledger.store.port import EventStore, NewEvent

HR = Actor("hr-li", "hr", "李娜")
CONTEXT = RequestContext(request_id="req-1", ip="203.0.113.7", user_agent="pytest", auth="token")
PINNED_TOPICS = {
    "DepartureStarted", "DepartureSubmittedForApproval", "DepartureStepApproved",
    "DepartureStepRejected", "DepartureWithdrawn", "DepartureTemplateApplied",
    "DepartureItemAdded", "DepartureReminderSent", "DepartureClosed",
    "ItemCreated", "ItemSubmitted", "ItemConfirmed", "ItemRejected", "ItemWaived",
    "ItemReassigned", "ItemCommented", "ItemExternalEvidenceRecorded", "ItemEvidenceUploaded",
    "ItemConfirmationEscalated", "ItemQuestionAsked", "ItemQuestionAnswered",  # issue 9
    "ItemRequirementsLinked",
    "TemplateCreated", "TemplateRevised", "DepartureHandedOver",
    "ItemSignedOff",
    "DepartureConfirmationSigned", "DepartureLegalHoldPlaced", "DisputeRaised",
    "DisputeStatementAdded", "DisputeEvidenceUploaded", "DisputeFindingRecorded",
    # issue 9: starting and changing a case
    "DepartureRequested", "DepartureRequestAccepted", "DepartureRequestDeclined",
    "DepartureSuccessorNamed",
    "DepartureLastWorkingDayChanged", "DepartureLeft", "DepartureContractTerminated",
    "DepartureAccessFrozen", "ItemDueDateChanged",
    # a signatory HR excused from signing the handover confirmation
    "DepartureConfirmationSignatureExcused",
    "ItemSignerReplaced",  # one signer slot given to someone else
    "DepartureEvidenceExported",  # issue 11: an evidence bundle was exported
    "DepartureChecklistSkipped",  # the approval left a checklist for HR to apply by hand
}


def new_item(receiver: str = "emp-successor") -> HandoverItem:
    return HandoverItem(
        departure_id=str(uuid4()), category="accounts_permissions", title="CRM account",
        label="CRM 账号", acceptance_criteria="disabled and mailbox forwarded",
        giver_id="emp-zhang", receiver=receiver, mandatory=True, priority="critical",
        due_date=None, template_item_key=None,
    )


def item_through_every_event() -> HandoverItem:
    item = new_item()
    item.record_upload(by="emp-zhang", sha256="ab" * 32, size=10, name="客户.xlsx",
                       media_type="application/vnd.ms-excel")
    item.submit(by="emp-zhang", on_behalf=False, note="见附件",
                evidence=[{"sha256": "ab" * 32, "name": "客户.xlsx", "size": 10,
                          "media_type": "application/vnd.ms-excel"}])
    item.reject(by="emp-successor", acting_for={"emp-successor"}, reason="缺少报价单")
    item.comment(by="emp-zhang", text="已补充")
    item.submit(by="hr-li", on_behalf=True, note="mailed in", evidence=[])
    item.reassign(by="hr-li", receiver="dept:it", reason="IT owns the CRM")
    item.record_external_evidence(by="it-wang", role="it", source="okta",
                                  kind="account_disabled", reference="evt-9",
                                  details={"nested": {"list": [1, None]}})
    item.confirm(by="it-wang", acting_for={"it-wang", "dept:it"}, note="",
                 signature={"alg": "ed25519", "sig": "c2ln"})
    return item


def waived_item() -> HandoverItem:
    item = new_item()
    item.waive(by="hr-li", reason="not applicable")
    return item


def departure(chain: int = 2) -> Departure:
    return Departure(
        leaver={"id": "emp-zhang", "name": "张伟", "department": "销售部",
                "position": "Sales manager", "role_family": "sales"},
        manager_id="mgr-wang", hr_owner_id="hr-li", notice_date="2025-03-01",
        last_working_day="2025-03-31", reason="resignation",
        approval_chain=[{"name": f"step {i}", "approver_id": f"approver-{i}"}
                        for i in range(chain)],
    )


def closed_departure() -> Departure:
    case = departure()
    case.submit_for_approval(by="hr-li")
    case.approve_step(by="approver-0", step=0, comment="")
    case.reject_step(by="approver-1", step=1, reason="date wrong")
    case.submit_for_approval(by="hr-li")
    case.approve_step(by="approver-0", step=0, comment="ok")
    case.approve_step(by="approver-1", step=1, comment="ok")
    case.apply_template({"id": str(uuid4()), "key": "sales", "revision": 1,
                         "content_hash": "cd" * 32}, ["i-1", "i-2"])
    case.add_item("i-3")
    case.send_reminder(by="hr-li", to="emp-zhang", item_ids=["i-1"], channel="email",
                       escalation=True, message="逾期")
    case.close(by="hr-li", note="done", items=[
        ItemStatus("i-1", "a", True, "confirmed"), ItemStatus("i-2", "b", True, "waived"),
        ItemStatus("i-3", "c", False, "open"),
    ])
    return case


def withdrawn_departure() -> Departure:
    case = departure(chain=0)
    case.submit_for_approval(by="hr-li")
    case.withdraw(by="hr-li", reason="stays")
    return case


def revised_template() -> Template:
    template = Template.define("sales", "sales", "Sales", "销售", [{"key": "a", "n": 1}],
                               author="hr-li")
    template.revise("Sales", "销售 v2", [{"key": "a", "n": 1}, {"key": "b", "n": 2}],
                    author="hr-li")
    template.revise("Sales", "销售 v3", [], author="hr-zhou")
    return template


def item_signed_by_several() -> HandoverItem:
    """Issue 9: signers in order, lines, a rejection of a line, a resubmission, sign-offs."""
    item = HandoverItem(
        departure_id=str(uuid4()), category="management", title="风险清单", label="",
        acceptance_criteria="逐条签字确认", giver_id="coo", receiver="successor",
        mandatory=True, priority="high", due_date=None, template_item_key=None,
        signers=["ceo", "hr-li", "successor"], signers_in_order=True)
    lines = [{"id": "r-1", "text": "汇率"}, {"id": "r-2", "text": "诉讼"}]
    how = {"mode": "meeting", "attendees": ["ceo"]}
    item.submit(by="coo", on_behalf=False, note="", evidence=[], lines=lines, how=how,
                urgent=True)
    item.confirm(by="ceo", acting_for={"ceo"}, note="", signature=None,
                 acknowledged=["r-1", "r-2"], how=how)
    item.reject(by="successor", acting_for={"successor"}, reason="r-2",
                rejected_lines=[{"id": "r-2", "reason": "金额不对"}], acknowledged=["r-1"])
    item.submit(by="coo", on_behalf=False, note="fixed", evidence=[], lines=lines)
    for signer in ("ceo", "hr-li", "successor"):
        item.confirm(by=signer, acting_for={signer}, note="", signature=None,
                     acknowledged=["r-1", "r-2"])
    return item


def signed_and_disputed_departure() -> Departure:
    case = departure(chain=0)
    case.submit_for_approval(by="hr-li")
    case.add_item("i-1")
    due = ConfirmationDue("ef" * 32, {"emp-zhang": ("leaver",), "hr-li": ("hr",)})
    case.sign_confirmation(by="emp-zhang", due=due, statement_sha256="ef" * 32, signature=None)
    case.sign_confirmation(by="hr-li", due=due, statement_sha256="ef" * 32,
                           signature={"key_id": "k", "signature": "c2ln"})
    case.close(by="hr-li", note="", items=[ItemStatus("i-1", "a", True, "waived")],
               confirmation=due)
    case.place_legal_hold(by="mgr-wang", dispute_id=str(uuid4()), item_ids=["i-1"])
    return case


def decided_dispute() -> Dispute:
    dispute = Dispute(departure_id=str(uuid4()), item_ids=["i-1"], raised_by="emp-successor",
                      raised_as="receiver", claim="客户最新需求被隐瞒")
    dispute.record_upload(by="emp-zhang", sha256="ab" * 32, size=3, name="邮件.eml",
                          media_type="message/rfc822")
    dispute.add_statement(by="emp-zhang", party="leaver", text="已当面交接",
                          evidence=[{"sha256": "ab" * 32}])
    dispute.record_finding(by="hr-li", responsibility="receiver", reasons="接收方未履行确认义务")
    return dispute


AGGREGATES: dict[str, Callable[[], Aggregate]] = {
    "item signed by several": item_signed_by_several,
    "signed and disputed departure": signed_and_disputed_departure,
    "decided dispute": decided_dispute,
    "new item": new_item,
    "item through every event": item_through_every_event,
    "waived item": waived_item,
    "draft departure": departure,
    "closed departure": closed_departure,
    "withdrawn departure": withdrawn_departure,
    "revised template": revised_template,
}


def collect(*aggregates: Aggregate) -> list[NewEvent]:
    """Encode pending events exactly as the service does (collect never touches the store)."""
    uow = UnitOfWork(cast(EventStore, object()))
    for aggregate in aggregates:
        uow.add(aggregate)
    return uow.collect(HR, CONTEXT)


def state_of(aggregate: Aggregate) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


def entry(stream_type: str, event_type: str, payload: dict[str, Any], version: int = 1,
          stream_id: UUID | None = None) -> Entry:
    raw, event_hash = encode_entry(
        event_id=uuid4(), stream_type=stream_type, stream_id=stream_id or uuid4(),
        version=version, event_type=event_type, recorded_at=datetime.now(UTC), actor={},
        context={}, payload=payload, prev=None if version == 1 else bytes(32),
    )
    return decode_entry(raw, event_hash)


def item_created_payload() -> dict[str, Any]:
    [created] = new_item().collect_events()
    return dict(encode_event(created)[1])


@pytest.mark.parametrize("build", AGGREGATES.values(), ids=AGGREGATES.keys())
def test_aggregate_survives_encode_decode_and_replay_with_identical_state(
    build: Callable[[], Aggregate],
) -> None:
    original = build()
    new_events = collect(original)

    entries = [decode_entry(e.entry, e.event_hash) for e in new_events]
    rebuilt = replay(entries)

    assert type(rebuilt) is type(original)
    assert rebuilt.id == original.id
    assert rebuilt.version == original.version == len(entries)
    assert state_of(rebuilt) == state_of(original)


def test_collected_entries_form_one_chain_per_stream_in_event_order() -> None:
    item, case = item_through_every_event(), closed_departure()

    new_events = collect(item, case)

    for aggregate in (item, case):
        stream = [e for e in new_events if e.stream_id == aggregate.id]
        entries = [decode_entry(e.entry, e.event_hash) for e in stream]
        assert [e.version for e in entries] == list(range(1, aggregate.version + 1))
        assert [e.prev for e in entries] == [None, *(e.event_hash for e in entries[:-1])]
        assert {e.stream_type for e in entries} == {stream_type_of(aggregate)}
        assert all(e.actor == HR.as_json() and e.context == CONTEXT.as_json() for e in entries)


def test_replayed_aggregate_continues_with_the_same_rules() -> None:
    original = new_item()
    original.submit(by="emp-zhang", on_behalf=False, note="", evidence=[])
    entries = [decode_entry(e.entry, e.event_hash) for e in collect(original)]

    rebuilt = cast(HandoverItem, replay(entries))
    rebuilt.confirm(by="emp-successor", acting_for={"emp-successor"}, note="", signature=None)

    [confirmed] = rebuilt.collect_events()
    assert confirmed.originator_version == 3
    assert encode_event(confirmed) == ("ItemConfirmed", {
        "by": "emp-successor", "receiver": "emp-successor", "submission": 1, "note": "",
        "signature": None, "direct": False,
    })


def test_event_types_are_the_pinned_names_and_never_module_paths() -> None:
    assert set(EVENT_CLASSES) == PINNED_TOPICS
    assert {stream for stream, _ in EVENT_CLASSES.values()} == {"departure", "item", "template",
                                                                "dispute"}
    for name, (stream_type, _) in EVENT_CLASSES.items():
        assert name.startswith({"departure": "Departure", "item": "Item",
                                "template": "Template", "dispute": "Dispute"}[stream_type])


def test_payload_holds_the_event_fields_and_no_envelope_attributes() -> None:
    item = new_item()
    item.comment(by="emp-zhang", text="hi")
    created, commented = item.collect_events()

    assert encode_event(commented) == ("ItemCommented", {"by": "emp-zhang", "text": "hi"})
    assert "originator_topic" not in encode_event(created)[1]


def test_stream_type_is_named_for_each_aggregate_class() -> None:
    assert stream_type_of(new_item()) == "item"
    assert stream_type_of(departure()) == "departure"
    assert stream_type_of(revised_template()) == "template"
    with pytest.raises(TypeError, match="Aggregate is not a ledger aggregate"):
        stream_type_of(Aggregate())


@pytest.mark.parametrize("event_type", [
    "ItemDeleted",
    "HandoverItem.Created",
    "ledger.aggregates.item:HandoverItem.Submitted",
    "eventsourcing.domain:Aggregate.Created",
    "itemsubmitted",
])
def test_refuses_an_event_type_outside_the_allow_list(event_type: str) -> None:
    stream_id = uuid4()
    bad = entry("item", event_type, {"by": "x"}, version=2, stream_id=stream_id)

    with pytest.raises(VerificationError,
                       match=f"event type '{event_type}' is not allowed") as caught:
        decode_event(bad)

    assert caught.value.stream_id == str(stream_id)
    assert caught.value.version == 2
    assert caught.value.event_id == str(bad.event_id)


@pytest.mark.parametrize(("stream_type", "event_type"), [
    ("item", "DepartureClosed"),
    ("departure", "ItemConfirmed"),
    ("template", "ItemCreated"),
    ("departure", "TemplateRevised"),
])
def test_refuses_an_event_type_of_another_stream_type(stream_type: str, event_type: str) -> None:
    bad = entry(stream_type, event_type, {}, version=2)

    with pytest.raises(VerificationError,
                       match=f"{event_type} does not belong to a {stream_type}"):
        decode_event(bad)


def test_refuses_a_payload_with_an_extra_field() -> None:
    payload = {**item_created_payload(), "is_admin": True}

    with pytest.raises(VerificationError, match="payload does not fit ItemCreated"):
        decode_event(entry("item", "ItemCreated", payload))


def test_refuses_a_payload_with_a_missing_field() -> None:
    payload = item_created_payload()
    del payload["receiver"]

    with pytest.raises(VerificationError, match="payload does not fit ItemCreated"):
        decode_event(entry("item", "ItemCreated", payload))


@pytest.mark.parametrize("field", ["originator_id", "originator_version", "timestamp"])
def test_refuses_a_payload_that_tries_to_override_the_envelope(field: str) -> None:
    payload = {"by": "x", "text": "y", field: "spoofed"}

    with pytest.raises(VerificationError, match="payload does not fit ItemCommented"):
        decode_event(entry("item", "ItemCommented", payload, version=2))


def test_refuses_a_creation_event_after_version_one() -> None:
    with pytest.raises(VerificationError, match="payload does not fit ItemCreated"):
        decode_event(entry("item", "ItemCreated", item_created_payload(), version=2))


def test_refuses_a_non_creation_event_at_version_one() -> None:
    with pytest.raises(VerificationError, match="payload does not fit ItemCommented"):
        decode_event(entry("item", "ItemCommented", {"by": "x", "text": "y"}, version=1))


def test_replay_refuses_a_stream_that_does_not_start_at_version_one() -> None:
    stream_id = uuid4()
    second = entry("item", "ItemCommented", {"by": "x", "text": "y"}, version=2,
                   stream_id=stream_id)

    with pytest.raises(VerificationError, match="stream does not start at version 1") as caught:
        replay([second])

    assert caught.value.version == 2
    assert caught.value.stream_id == str(stream_id)


def test_replay_refuses_no_entries() -> None:
    with pytest.raises(ValueError, match="no entries to replay"):
        replay([])


def test_clones_share_no_state_with_the_cached_original() -> None:
    from ledger.aggregates.codec import clone_aggregate
    from ledger.aggregates.departure import Departure
    from ledger.aggregates.item import HandoverItem

    departure = Departure(leaver={"id": "l"}, manager_id="m", hr_owner_id="h",
                          notice_date="2026-11-01", last_working_day="2026-11-30", reason="r",
                          approval_chain=[])
    departure.submit_for_approval(by="h")
    departure.collect_events()
    snapshot = dict(vars(departure))
    clone = clone_aggregate(departure)
    clone.add_item("i1")  # type: ignore[attr-defined]
    clone.send_reminder(by="h", to="l", item_ids=["i1"], channel="email", escalation=False,  # type: ignore[attr-defined]
                        message="m")
    assert vars(departure) == snapshot
    assert departure.pending_events == []
    item = HandoverItem(departure_id="d", category="clients", title="t", label="",
                        acceptance_criteria="", giver_id="g", receiver="r", mandatory=True,
                        priority="normal", due_date=None, template_item_key=None)
    item.collect_events()
    before = dict(vars(item))
    copy = clone_aggregate(item)
    copy.record_upload(by="g", sha256="ab" * 32, size=1, name="n.txt", media_type="text/plain")  # type: ignore[attr-defined]
    cited = {"sha256": "ab" * 32, "size": 1, "name": "n.txt", "media_type": "text/plain"}
    copy.submit(by="g", on_behalf=False, note="n", evidence=[cited])  # type: ignore[attr-defined]
    copy.reassign(by="h", receiver="x", reason="y")  # type: ignore[attr-defined]
    assert vars(item) == before


def test_entries_stored_before_the_evidence_rules_and_authors_existed_still_replay() -> None:
    stream_id = uuid4()
    created = {k: v for k, v in item_created_payload().items()
               if k not in ("satisfied_by", "department_may_confirm_directly")}
    old = [entry("item", "ItemCreated", created, 1, stream_id),
           entry("item", "ItemSubmitted", {"by": "emp-zhang", "on_behalf": False, "note": "",
                                           "evidence": [], "submission": 1}, 2, stream_id),
           entry("item", "ItemConfirmed", {"by": "emp-successor", "receiver": "emp-successor",
                                           "submission": 1, "note": "", "signature": None},
                 3, stream_id)]
    item = cast(HandoverItem, replay(old))
    assert (item.state, item.satisfied_by, item.department_may_confirm_directly) == (
        "confirmed", [], False)
    template = cast(Template, replay([entry("template", "TemplateCreated", {
        "key": "sales", "role_family": "sales", "name": "Sales", "label": "销售", "items": [],
        "content_hash": "00" * 32})]))
    assert template.author is None


def test_an_items_module_is_written_only_when_it_has_one_and_old_entries_replay_without() -> None:
    assert "module" not in item_created_payload()  # an item without one: bytes as before
    stream_id = uuid4()
    item = cast(HandoverItem, replay([entry("item", "ItemCreated", item_created_payload(), 1,
                                            stream_id)]))
    assert item.module is None
    with_module = HandoverItem(
        departure_id="d-1", category="management", title="战略规划", label="", giver_id="coo",
        acceptance_criteria="", receiver="successor", mandatory=True, priority="high",
        due_date=None, template_item_key="strategy-plan-and-okr", module="strategy")
    [created] = with_module.collect_events()
    payload = dict(encode_event(created)[1])
    assert payload["module"] == "strategy"
    replayed = cast(HandoverItem, replay([entry("item", "ItemCreated", payload, 1, uuid4())]))
    assert replayed.module == "strategy"
