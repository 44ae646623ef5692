"""Departure: one leaver's offboarding case (离职交接单).

States (DESIGN.md): draft → pending_approval → approved → handing_over → closed, or withdrawn;
a case may also start as the leaver's own request (requested), which HR accepts into the
approval chain (pending_approval) or declines (declined, final).
The close gate lives here: a departure closes only when every mandatory item is confirmed or
waived, and the Closed event records the counts and that severance may be released. Where the
handover confirmation (交接确认书) is required, every signatory must also have signed it as it
stands (``DepartureConfirmationSigned``); the close records the digest they signed. A closed
case takes one more kind of event: a dispute's legal hold (``DepartureLegalHoldPlaced``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from eventsourcing.domain import Aggregate, event

from ledger.aggregates.confirmation import (
    ConfirmationDue,
    NotSignatoryError,
    StaleConfirmationError,
    UnsignedConfirmationError,
)
from ledger.aggregates.item import DONE_STATES, ItemStatus, require_reason
from ledger.aggregates.timed import Timed, TimedEvent
from ledger.canonical import JSONObject
from ledger.errors import (
    ForbiddenError,
    GateBlockedError,
    InvalidInputError,
    InvalidTransitionError,
)

ROLE_FAMILIES = ("sales", "technical", "admin", "finance", "management", "general")
DEPARTURE_STATES = ("draft", "pending_approval", "approved", "handing_over", "closed",
                    "withdrawn", "requested", "declined")
OPEN_FOR_ITEMS = ("approved", "handing_over")
FINAL_STATES = ("closed", "withdrawn")
# A request HR declined is final too, but it never had items: the item gate ignores it.
ENDED_STATES = (*FINAL_STATES, "declined")
# A checklist may be applied while approval is pending, so that the items it marks urgent can
# be worked at once (seed 001: "标注'紧急'…需立即交接"); the rest wait for approval.
OPEN_FOR_CHECKLISTS = ("pending_approval", *OPEN_FOR_ITEMS)


NOT_SIGNED = "confirmation_not_signed_by"


def not_signed_warning(signatory: str, exemption: JSONObject) -> JSONObject:
    """The close's record of a signatory who did not sign the handover confirmation: who,
    as which parties, the digest, why, and who excused them."""
    return {NOT_SIGNED: signatory, "parties": exemption["parties"],
            "statement_sha256": exemption["statement_sha256"],
            "reason": exemption["reason"], "excused_by": exemption["by"]}


class DepartureStateError(InvalidTransitionError):
    """The departure is not in a state that allows this action."""


class NotApproverError(ForbiddenError):
    """Deciding an approval step as someone other than that step's approver."""


class TemplateAlreadyAppliedError(InvalidTransitionError):
    """The same template version was already applied to this departure."""


class Departure(Timed, Aggregate):
    """One leaver's case; methods check the rule, then record the event."""

    TOPIC = "Departure"

    class Event(TimedEvent):
        TOPIC = "DepartureEvent"

    @event("Created", topic="DepartureStarted")
    def __init__(
        self,
        leaver: JSONObject,
        manager_id: str,
        hr_owner_id: str,
        notice_date: str,
        last_working_day: str,
        reason: str,
        approval_chain: list[JSONObject],
    ) -> None:
        self.leaver = leaver
        self.manager_id = manager_id
        self.hr_owner_id = hr_owner_id
        self.notice_date = notice_date
        self.last_working_day = last_working_day
        self.reason = reason
        self.approval_chain = approval_chain
        self.approved_steps = 0
        self.state = "draft"
        self.item_ids: list[str] = []
        self.templates: list[JSONObject] = []
        self.reminders = 0
        self.closure: JSONObject | None = None
        self.close_warnings: list[JSONObject] = []  # unanswered questions at close
        # Set by later events only (not constructor arguments): older cases still replay.
        self.confirmation_signatures: dict[str, JSONObject] = {}  # signer → what they signed
        # signatory → HR's record that they cannot or will not sign (which digest, why)
        self.confirmation_exemptions: dict[str, JSONObject] = {}
        self.dispute_ids: list[str] = []
        self.legal_hold = False
        # Facts of the case beside the handover (none is a constructor argument, so cases
        # started before they existed replay): the leaver's request, the named successor,
        # moved last days, the day they left, the contract's end, frozen access.
        self.request: JSONObject | None = None
        self.decline: JSONObject | None = None
        self.successor_id: str | None = None
        self.last_working_day_changes: list[JSONObject] = []
        self.left_on: str | None = None
        self.contract_termination: JSONObject | None = None
        self.access_frozen: JSONObject | None = None
        # checklist key → why the approval left it to HR, until a revision of it is applied
        self.checklists_skipped: dict[str, str] = {}

    class Requested(Aggregate.Created):
        """The leaver's own request (seed 001: "员工只需通过手机端提交离职申请"): the case
        starts in ``requested``; who manages, owns and approves it is HR's to say on accept."""

        TOPIC = "DepartureRequested"
        leaver: JSONObject
        reason: str
        intended_last_working_day: str
        letter: JSONObject
        # The organisation's date of the request (LEDGER_TIME_ZONE), not the UTC date of the
        # event's timestamp: the notice period (30 days) runs from it.
        notice_date: str

        def mutate(self, aggregate: object) -> Departure:  # type: ignore[override]
            departure = Departure.__new__(Departure)
            departure.__base_init__(self.originator_id, self.originator_version,
                                    self.timestamp)
            departure.__init__(  # type: ignore[misc]
                leaver=self.leaver, manager_id="", hr_owner_id="",
                notice_date=self.notice_date,
                last_working_day=self.intended_last_working_day, reason=self.reason,
                approval_chain=[])
            departure.state = "requested"
            departure.request = {"reason": self.reason, "letter": self.letter,
                                 "intended_last_working_day": self.intended_last_working_day,
                                 "requested_on": self.notice_date}
            return departure

    @classmethod
    def request_departure(cls, leaver: JSONObject, reason: str,
                          intended_last_working_day: str, letter: JSONObject, *,
                          notice_date: str) -> Departure:
        """The leaver asks to leave on ``notice_date`` (the organisation's date today, which
        the service reads from its clock), citing their uploaded resignation letter."""
        require_reason(reason)
        if intended_last_working_day < notice_date:
            raise InvalidInputError("the intended last working day has passed",
                                    field="intended_last_working_day")
        return cls._create(cls.Requested, id=uuid.uuid4(), leaver=leaver, reason=reason,
                           intended_last_working_day=intended_last_working_day,
                           letter=letter, notice_date=notice_date)

    @property
    def leaver_id(self) -> str:
        """The principal id of the person leaving."""
        return str(self.leaver["id"])

    def submit_for_approval(self, by: str) -> None:
        """Send a draft into its approval chain (straight to approved if the chain is empty)."""
        self._require_state("draft")
        self._submitted_for_approval(by=by)

    @event("SubmittedForApproval", topic="DepartureSubmittedForApproval")
    def _submitted_for_approval(self, by: str) -> None:
        self.approved_steps = 0
        self.state = "pending_approval" if self.approval_chain else self._approved_state()

    def approve_step(self, by: str, step: int, comment: str) -> None:
        """Approve the current step; only that step's approver may."""
        self._require_current_step(by, step)
        self._step_approved(by=by, step=step, comment=comment)

    @event("StepApproved", topic="DepartureStepApproved")
    def _step_approved(self, by: str, step: int, comment: str) -> None:
        self.approved_steps = step + 1
        if self.approved_steps == len(self.approval_chain):
            self.state = self._approved_state()

    def _approved_state(self) -> str:
        # Items applied while approval was pending (urgent ones) mean the handover is under way.
        return "handing_over" if self.item_ids else "approved"

    def reject_step(self, by: str, step: int, reason: str) -> None:
        """Reject the current step: the departure returns to draft for HR to revise."""
        require_reason(reason)
        self._require_current_step(by, step)
        self._step_rejected(by=by, step=step, reason=reason)

    @event("StepRejected", topic="DepartureStepRejected")
    def _step_rejected(self, by: str, step: int, reason: str) -> None:
        self.approved_steps = 0
        self.state = "draft"

    def withdraw(self, by: str, reason: str) -> None:
        """Withdraw the case (the leaver stays, or the record was opened in error)."""
        require_reason(reason)
        if self.state in ENDED_STATES:
            raise DepartureStateError(f"departure {self.id} is already {self.state}")
        self._withdrawn(by=by, reason=reason, previous_state=self.state)

    def withdraw_request(self, by: str, reason: str) -> None:
        """The leaver takes back their own request before HR accepts it: the same
        ``DepartureWithdrawn`` as HR's (final; ``ledger verify`` treats it as such), by the
        leaver, from ``requested``."""
        require_reason(reason)
        self._require_state("requested")
        if by != self.leaver_id:
            raise ForbiddenError("only the leaver withdraws their own request (HR declines it)")
        self._withdrawn(by=by, reason=reason, previous_state=self.state)

    @event("Withdrawn", topic="DepartureWithdrawn")
    def _withdrawn(self, by: str, reason: str, previous_state: str) -> None:
        self.state = "withdrawn"

    def hand_over(self, by: str, hr_owner_id: str, reason: str) -> None:
        """Give the case to another HR owner (who then waives and closes it)."""
        require_reason(reason)
        if self.state in ENDED_STATES:
            raise DepartureStateError(f"departure {self.id} is already {self.state}")
        if self.state == "requested":  # it has no owner yet: HR names one on accept
            raise DepartureStateError(f"departure {self.id} is requested; accept it first")
        if hr_owner_id == self.hr_owner_id:
            raise InvalidTransitionError(f"departure {self.id} is already owned by {hr_owner_id}")
        if hr_owner_id == self.leaver_id:
            raise InvalidInputError("the leaver cannot own their own departure",
                                    field="hr_owner_id")
        self._handed_over(by=by, previous_hr_owner_id=self.hr_owner_id,
                          hr_owner_id=hr_owner_id, reason=reason)

    @event("HandedOver", topic="DepartureHandedOver")
    def _handed_over(self, by: str, previous_hr_owner_id: str, hr_owner_id: str,
                     reason: str) -> None:
        self.hr_owner_id = hr_owner_id

    def name_successor(self, by: str, successor_id: str) -> None:
        """HR names who takes over the leaver's work (the checklists' ``successor`` lines go
        to them), before any checklist is applied: a case HR starts names it here, as an
        accepted request does on accept. Items already created keep their receivers."""
        self._require_state("draft")
        if successor_id == self.leaver_id:
            raise InvalidInputError("the leaver cannot receive their own handover",
                                    field="successor_id")
        self._successor_named(by=by, successor_id=successor_id)

    @event("SuccessorNamed", topic="DepartureSuccessorNamed")
    def _successor_named(self, by: str, successor_id: str) -> None:
        self.successor_id = successor_id

    # --- the leaver's request ---------------------------------------------------------

    def accept_request(self, by: str, role_family: str, manager_id: str, hr_owner_id: str,
                       notice_date: str, last_working_day: str,
                       approval_chain: list[JSONObject], successor_id: str | None) -> None:
        """HR accepts the leaver's request into the approval chain, supplying what a started
        case needs (straight to approved if the chain is empty)."""
        self._require_state("requested")
        if by == self.leaver_id:
            raise ForbiddenError("the leaver cannot accept their own request")
        if last_working_day < notice_date:
            raise InvalidInputError("last working day is before the notice date",
                                    field="last_working_day")
        self._request_accepted(by=by, role_family=role_family, manager_id=manager_id,
                               hr_owner_id=hr_owner_id, notice_date=notice_date,
                               last_working_day=last_working_day,
                               approval_chain=approval_chain, successor_id=successor_id)

    @event("RequestAccepted", topic="DepartureRequestAccepted")
    def _request_accepted(self, by: str, role_family: str, manager_id: str, hr_owner_id: str,
                          notice_date: str, last_working_day: str,
                          approval_chain: list[JSONObject], successor_id: str | None) -> None:
        self.leaver = {**self.leaver, "role_family": role_family}
        self.manager_id = manager_id
        self.hr_owner_id = hr_owner_id
        self.notice_date = notice_date
        self.last_working_day = last_working_day
        self.approval_chain = approval_chain
        self.successor_id = successor_id
        self.approved_steps = 0
        self.state = "pending_approval" if approval_chain else self._approved_state()

    def decline_request(self, by: str, reason: str) -> None:
        """HR declines the leaver's request, with a reason (final)."""
        require_reason(reason)
        self._require_state("requested")
        if by == self.leaver_id:
            raise ForbiddenError("the leaver cannot decline their own request")
        self._request_declined(by=by, reason=reason)

    @event("RequestDeclined", topic="DepartureRequestDeclined")
    def _request_declined(self, by: str, reason: str) -> None:
        self.state = "declined"
        self.decline = {"by": by, "reason": reason, "recorded_at": self.event_at}

    # --- dates and facts never gated by the handover -----------------------------------

    def change_last_working_day(self, by: str, last_working_day: str, reason: str,
                                item_ids: list[str]) -> None:
        """HR moves the last working day; ``item_ids`` are the open checklist items whose due
        dates follow it (each records its own ItemDueDateChanged in the same commit)."""
        require_reason(reason)
        self._require_state("draft", "pending_approval", *OPEN_FOR_ITEMS)
        if last_working_day == self.last_working_day:
            raise InvalidTransitionError(f"the last working day is already {last_working_day}")
        if last_working_day < self.notice_date:
            raise InvalidInputError("last working day is before the notice date",
                                    field="last_working_day")
        self._last_working_day_changed(by=by, previous=self.last_working_day,
                                       last_working_day=last_working_day, reason=reason,
                                       item_ids=item_ids)

    @event("LastWorkingDayChanged", topic="DepartureLastWorkingDayChanged")
    def _last_working_day_changed(self, by: str, previous: str, last_working_day: str,
                                  reason: str, item_ids: list[str]) -> None:
        self.last_working_day = last_working_day
        self.last_working_day_changes = [*self.last_working_day_changes, {
            "by": by, "previous": previous, "last_working_day": last_working_day,
            "reason": reason, "recorded_at": self.event_at}]

    def record_left(self, by: str, left_on: str, note: str) -> None:
        """Record the day the person actually left: open items and a close do not stop it."""
        self._require_accepted()
        if left_on == self.left_on:
            raise InvalidTransitionError(f"the leaving day is already recorded as {left_on}")
        self._left(by=by, left_on=left_on, note=note, previous_left_on=self.left_on)

    @event("Left", topic="DepartureLeft")
    def _left(self, by: str, left_on: str, note: str, previous_left_on: str | None) -> None:
        self.left_on = left_on

    def record_contract_terminated(self, by: str, terminated_on: str, document: JSONObject,
                                   note: str) -> None:
        """Record the contract's termination and its document's digest (never gated: seed
        001's "未及时解除劳动合同" risk, and Labour Contract Law Art. 50)."""
        self.require_contract_termination_recordable()
        self._contract_terminated(by=by, terminated_on=terminated_on, document=document,
                                  note=note)

    def require_contract_termination_recordable(self) -> None:
        """Raise unless the case may record its contract's termination (an accepted case,
        not yet recorded): asked before the document is stored, and when recording."""
        self._require_accepted()
        if self.contract_termination is not None:
            raise InvalidTransitionError(
                f"the contract's termination is already recorded for departure {self.id}")

    @event("ContractTerminated", topic="DepartureContractTerminated")
    def _contract_terminated(self, by: str, terminated_on: str, document: JSONObject,
                             note: str) -> None:
        self.contract_termination = {"by": by, "terminated_on": terminated_on,
                                     "document": document, "recorded_at": self.event_at}

    def freeze_access(self, by: str, frozen_at: str, reason: str, item_ids: list[str]) -> None:
        """HR freezes the leaver's access at once (seed 001: "暂时冻结了老张的系统权限"): the
        event names the principal for an IAM integration; ``item_ids`` are the IT clearance
        items that fall due now. Only on a case HR accepted: an IAM integration acts on the
        event, and a request HR never accepted (or declined) must not lock anyone out."""
        require_reason(reason)
        self._require_accepted()
        if self.state in ENDED_STATES:
            raise DepartureStateError(f"departure {self.id} is already {self.state}")
        if self.access_frozen is not None:
            raise InvalidTransitionError(f"access is already frozen for departure {self.id}")
        self._access_frozen(by=by, principal_id=self.leaver_id, frozen_at=frozen_at,
                            reason=reason, item_ids=item_ids)

    @event("AccessFrozen", topic="DepartureAccessFrozen")
    def _access_frozen(self, by: str, principal_id: str, frozen_at: str, reason: str,
                       item_ids: list[str]) -> None:
        self.access_frozen = {"by": by, "principal_id": principal_id, "frozen_at": frozen_at,
                              "reason": reason}

    def _require_accepted(self) -> None:
        # Leaving and the contract's end are facts of an accepted case, closed or not; a
        # withdrawn case (the person stays) or a request not accepted has no such facts.
        if self.state in ("requested", "declined", "withdrawn"):
            raise DepartureStateError(f"departure {self.id} is {self.state}")

    def apply_template(self, template: JSONObject, item_ids: list[str]) -> None:
        """Record which template version (and content hash) produced which items; while
        approval is pending only the items the checklist marks urgent may be worked."""
        if self.state != "pending_approval":
            self._require_state(*OPEN_FOR_ITEMS)
        for applied in self.templates:
            if (applied["id"], applied["revision"]) == (template["id"], template["revision"]):
                raise TemplateAlreadyAppliedError(
                    f"template {template['key']} r{template['revision']} is already applied"
                )
        self._template_applied(template=template, item_ids=item_ids)

    @event("TemplateApplied", topic="DepartureTemplateApplied")
    def _template_applied(self, template: JSONObject, item_ids: list[str]) -> None:
        self.templates = [*self.templates, template]
        self.item_ids = [*self.item_ids, *item_ids]
        self.checklists_skipped = {k: v for k, v in self.checklists_skipped.items()
                                   if k != template.get("key")}
        if self.state != "pending_approval":
            self.state = "handing_over"

    def skip_checklist(self, by: str, key: str, reason: str) -> None:
        """Record that the approval (``by`` completed it) left checklist ``key`` for HR to
        apply by hand, and why: HR's inbox lists it until a revision of it is applied."""
        self._require_state(*OPEN_FOR_ITEMS)
        self._checklist_skipped(by=by, key=key, reason=reason)

    @event("ChecklistSkipped", topic="DepartureChecklistSkipped")
    def _checklist_skipped(self, by: str, key: str, reason: str) -> None:
        self.checklists_skipped = {**self.checklists_skipped, key: reason}

    def applied_template_keys(self) -> frozenset[str]:
        """The keys of every checklist applied to this case (any revision)."""
        return frozenset(str(t["key"]) for t in self.templates)

    def add_item(self, item_id: str) -> None:
        """Attach an ad-hoc item."""
        self._require_state(*OPEN_FOR_ITEMS)
        self._item_added(item_id=item_id)

    @event("ItemAdded", topic="DepartureItemAdded")
    def _item_added(self, item_id: str) -> None:
        self.item_ids = [*self.item_ids, item_id]
        self.state = "handing_over"

    def send_reminder(self, by: str, to: str, item_ids: list[str], channel: str,
                      escalation: bool, message: str, rule: str | None = None) -> None:
        """Record a reminder or escalation: proof that the company chased the leaver."""
        self._require_state(*OPEN_FOR_ITEMS)
        unknown = sorted(set(item_ids) - set(self.item_ids))
        if unknown:
            raise InvalidInputError(f"items not in this departure: {unknown}", field="item_ids")
        self._reminder_sent(by=by, to=to, item_ids=item_ids, channel=channel,
                            escalation=escalation, message=message, rule=rule)

    @event("ReminderSent", topic="DepartureReminderSent")
    def _reminder_sent(self, by: str, to: str, item_ids: list[str], channel: str,
                       escalation: bool, message: str, rule: str | None = None) -> None:
        self.reminders += 1

    def close(self, by: str, items: Sequence[ItemStatus], note: str,
              warnings: list[JSONObject] | None = None,
              confirmation: ConfirmationDue | None = None) -> None:
        """Close the case if the gate allows; raise GateBlockedError listing what blocks it.
        ``warnings`` (unanswered questions) are recorded with the close, never
        blocking it. With ``confirmation`` (the handover confirmation is required), every
        signatory must have signed that statement (UnsignedConfirmationError names who has
        not)."""
        self._require_state("handing_over")
        if sorted(s.item_id for s in items) != sorted(self.item_ids):
            raise InvalidTransitionError("item statuses do not match this departure's items")
        blocking = [s for s in items if s.mandatory and s.state not in DONE_STATES]
        if blocking:
            raise GateBlockedError(
                f"{len(blocking)} mandatory item(s) not confirmed or waived",
                blocking=[s.item_id for s in blocking],
            )
        excused = self.excused(confirmation) if confirmation is not None else {}
        if confirmation is not None:
            unsigned = [who for who in self.unsigned(confirmation) if who not in excused]
            if unsigned:
                raise UnsignedConfirmationError(
                    f"the handover confirmation {confirmation.sha256} is not signed by "
                    f"{', '.join(unsigned)} (交接确认书: GET /v1/departures/{self.id}/"
                    "confirmation, then POST .../confirmation/signatures)", unsigned=unsigned)
        self._closed(
            by=by, note=note, items_total=len(items),
            confirmation_sha256=confirmation.sha256 if confirmation else None,
            confirmed=sum(s.state == "confirmed" for s in items),
            waived=sum(s.state == "waived" for s in items),
            optional_open=sum(s.state not in DONE_STATES for s in items),
            severance_releasable=True,
            warnings=[*(warnings or []),
                      *(not_signed_warning(who, e) for who, e in excused.items())],
        )

    @event("Closed", topic="DepartureClosed")
    def _closed(self, by: str, note: str, items_total: int, confirmed: int, waived: int,
                optional_open: int, severance_releasable: bool,
                warnings: list[JSONObject] | None,
                confirmation_sha256: str | None = None) -> None:
        self.close_warnings = list(warnings or [])
        self.state = "closed"
        self.closure = {"by": by, "confirmed": confirmed, "waived": waived,
                        "severance_releasable": severance_releasable,
                        "recorded_at": self.event_at}
        not_signed = [w for w in self.close_warnings if NOT_SIGNED in w]
        if not_signed:  # seed 000: "没有双方的签字确认" — plain on the record
            self.closure = {**self.closure, "confirmation_not_signed_by": not_signed}

    def sign_confirmation(self, by: str, due: ConfirmationDue, statement_sha256: str,
                          signature: JSONObject | None) -> None:
        """Record ``by`` signing the handover confirmation (交接确认书) as it stands.

        Seed 000: "交接双方在系统内签署'交接确认书'" — its dispute arose because there was
        "没有双方的签字确认". A signature names the statement's digest: once an item changes,
        the statement (and its digest) changes and older signatures no longer count.
        """
        self._require_state("handing_over")
        if by not in due.signatories:
            raise NotSignatoryError(f"{by} is not a signatory of the handover confirmation of "
                                    f"departure {self.id} ({', '.join(due.signatories)})")
        if statement_sha256 != due.sha256:
            raise StaleConfirmationError(
                f"the handover confirmation changed (now {due.sha256}, not "
                f"{statement_sha256}); fetch it again and sign what it says now")
        if self.confirmation_signatures.get(by, {}).get("statement_sha256") == due.sha256:
            raise InvalidTransitionError(f"{by} already signed confirmation {due.sha256}")
        self._confirmation_signed(by=by, parties=list(due.signatories[by]),
                                  statement_sha256=statement_sha256, signature=signature)

    @event("ConfirmationSigned", topic="DepartureConfirmationSigned")
    def _confirmation_signed(self, by: str, parties: list[str], statement_sha256: str,
                             signature: JSONObject | None) -> None:
        self.confirmation_signatures = {
            **self.confirmation_signatures,
            by: {"statement_sha256": statement_sha256, "parties": parties,
                 "signed": signature is not None, "recorded_at": self.event_at}}

    def unsigned(self, due: ConfirmationDue) -> list[str]:
        """The signatories who have not signed the statement as it stands (in its order)."""
        return [who for who in due.signatories
                if self.confirmation_signatures.get(who, {}).get("statement_sha256")
                != due.sha256]

    def excuse_confirmation_signature(self, by: str, due: ConfirmationDue, signatory: str,
                                      statement_sha256: str, reason: str) -> None:
        """HR records, with a reason, that ``signatory`` cannot or will not sign the handover
        confirmation as it stands (the leaver's account is disabled once they leave; a party
        may refuse): the close then passes without that signature and records who did not
        sign and why. Like a signature, it names the statement's digest and no longer counts
        once the statement changes."""
        require_reason(reason)
        self._require_state("handing_over")
        if signatory not in due.signatories:
            raise InvalidInputError(f"{signatory} is not a signatory of the handover "
                                    f"confirmation of departure {self.id}", field="signatory")
        if signatory == by:
            raise InvalidInputError("the HR owner signs the confirmation themself",
                                    field="signatory")
        if statement_sha256 != due.sha256:
            raise StaleConfirmationError(
                f"the handover confirmation changed (now {due.sha256}, not "
                f"{statement_sha256}); fetch it again")
        if signatory not in self.unsigned(due):
            raise InvalidTransitionError(f"{signatory} already signed confirmation {due.sha256}")
        if signatory in self.excused(due):
            raise InvalidTransitionError(
                f"{signatory} is already excused from signing confirmation {due.sha256}")
        self._confirmation_signature_excused(
            by=by, signatory=signatory, parties=list(due.signatories[signatory]),
            statement_sha256=statement_sha256, reason=reason)

    @event("ConfirmationSignatureExcused", topic="DepartureConfirmationSignatureExcused")
    def _confirmation_signature_excused(self, by: str, signatory: str, parties: list[str],
                                        statement_sha256: str, reason: str) -> None:
        self.confirmation_exemptions = {
            **self.confirmation_exemptions,
            signatory: {"statement_sha256": statement_sha256, "parties": parties,
                        "reason": reason, "by": by, "recorded_at": self.event_at}}

    def excused(self, due: ConfirmationDue) -> dict[str, JSONObject]:
        """The signatories HR excused from signing the statement as it stands, unsigned."""
        unsigned = self.unsigned(due)
        return {who: e for who, e in self.confirmation_exemptions.items()
                if who in unsigned and e.get("statement_sha256") == due.sha256}

    def place_legal_hold(self, by: str, dispute_id: str, item_ids: list[str]) -> None:
        """Record that a dispute holds this case (retention must keep it); allowed in every
        state, after the close too: a dispute usually comes after it (seed 000: a month
        later)."""
        unknown = sorted(set(item_ids) - set(self.item_ids))
        if unknown:
            raise InvalidInputError(f"items not in this departure: {unknown}", field="item_ids")
        self._legal_hold_placed(by=by, dispute_id=dispute_id, item_ids=item_ids)

    @event("LegalHoldPlaced", topic="DepartureLegalHoldPlaced")
    def _legal_hold_placed(self, by: str, dispute_id: str, item_ids: list[str]) -> None:
        self.legal_hold = True
        self.dispute_ids = [*self.dispute_ids, dispute_id]

    def record_export(self, by: str, bundle_format: int, status: str, checkpoint: JSONObject,
                      manifest_sha256: str, with_files: bool) -> None:
        """Record that ``by`` exported the case's evidence bundle (docs/bundle-format.md):
        allowed in every state, after the close, a withdrawal and under legal hold too (a
        dispute is what calls for a bundle). The bundle holds the events before this one."""
        if status not in ("final", "interim"):
            raise InvalidInputError(f"unknown bundle status {status!r}", field="status")
        self._evidence_exported(by=by, bundle_format=bundle_format, status=status,
                                checkpoint=checkpoint, manifest_sha256=manifest_sha256,
                                with_files=with_files)

    @event("EvidenceExported", topic="DepartureEvidenceExported")
    def _evidence_exported(self, by: str, bundle_format: int, status: str,
                           checkpoint: JSONObject, manifest_sha256: str,
                           with_files: bool) -> None:
        pass  # a record only: the case's state is what it was

    def _require_state(self, *allowed: str) -> None:
        if self.state not in allowed:
            raise DepartureStateError(
                f"departure {self.id} is {self.state}; needs {' or '.join(allowed)}"
            )

    def _require_current_step(self, by: str, step: int) -> None:
        self._require_state("pending_approval")
        if step != self.approved_steps:
            raise DepartureStateError(
                f"step {step} is not the current approval step ({self.approved_steps})"
            )
        approver = self.approval_chain[step]["approver_id"]
        if by != approver:
            raise NotApproverError(f"step {step} is for {approver}, not {by}")
