"""HandoverItem: one thing a leaver hands over, and the proof of who accepted it.

States (DESIGN.md): open → submitted → confirmed; submitted → rejected → (resubmit) submitted;
open, submitted or rejected → waived (HR, with reason). Nothing is deleted.

A checklist item may name the external evidence that satisfies it (``satisfied_by``: an IAM
system's ``account_disabled``): when an allowed system reports it on an open or rejected item,
the item is submitted on the system's word and still awaits its receiver's confirmation. With
``department_may_confirm_directly`` the receiver may instead confirm an open item outright.

Rules in ``dependency.py``: an item may require other items of its departure, and is
neither submitted nor confirmed until each is confirmed or waived; a submission records the date
its receiver must confirm by, after which an escalation is recorded once per submission; a
comment may be a question to someone, which only they answer.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from eventsourcing.domain import Aggregate, event

from ledger.aggregates.dependency import (
    QuestionStateError,
    require_overdue,
    require_prerequisites_done,
)
from ledger.aggregates.evidence import (
    DEFAULT_MEDIA_TYPE,
    DEFAULT_NAME,
    check_file_name,
    check_media_type,
)
from ledger.aggregates.signoff import (
    choose_slot,
    pending_slots,
    require_all_acknowledged,
    require_known_lines,
    require_lines_reviewed_once,
)
from ledger.aggregates.timed import Timed, TimedEvent
from ledger.canonical import JSONObject
from ledger.errors import ForbiddenError, InvalidInputError, InvalidTransitionError

CATEGORIES = (
    "clients", "projects", "documents", "accounts_permissions",
    "assets", "finance", "knowledge", "management",
)
PRIORITIES = ("low", "normal", "high", "critical")
DEPARTMENT_QUEUES = ("dept:it", "dept:finance", "dept:admin")
DONE_STATES = frozenset({"confirmed", "waived"})
# The five modules of a management handover (seed 002: "系统预设'战略规划''核心项目'
# '团队管理''财务权限''法律合规'五大核心模块"); an item of another checklist has none.
MODULES = ("strategy", "projects", "team", "finance_authority", "legal_compliance")


class ItemNotSubmittedError(InvalidTransitionError):
    """Confirming or rejecting an item that is not awaiting review."""


class ItemAlreadyDoneError(InvalidTransitionError):
    """Acting on an item that is already confirmed or waived."""


class ItemNotOpenError(InvalidTransitionError):
    """Submitting an item that is already submitted, confirmed or waived."""


class NotGiverError(ForbiddenError):
    """Submitting as someone who is neither the giver nor HR acting on their behalf."""


class NotReceiverError(ForbiddenError):
    """Confirming or rejecting as someone who is not this item's receiver."""


class NotEvidenceSourceError(ForbiddenError):
    """Reporting external evidence from neither the item's department nor an allowed system."""


@dataclass(frozen=True)
class ItemStatus:
    """What the departure gate needs to know of one item."""

    item_id: str
    title: str
    mandatory: bool
    state: str


class HandoverItem(Timed, Aggregate):
    """One handover item; methods check the rule, then record the event."""

    TOPIC = "HandoverItem"

    class Event(TimedEvent):
        TOPIC = "ItemEvent"

    @event("Created", topic="ItemCreated")
    def __init__(
        self,
        departure_id: str,
        category: str,
        title: str,
        label: str,
        acceptance_criteria: str,
        giver_id: str,
        receiver: str,
        mandatory: bool,
        priority: str,
        due_date: str | None,
        template_item_key: str | None,
        satisfied_by: list[JSONObject] | None = None,
        department_may_confirm_directly: bool = False,
        # several sign-offs per item (rules in signoff.py)
        signers: list[str] | None = None,
        signers_in_order: bool = False,
        # dependencies and receiver deadlines (rules in dependency.py)
        requires: list[str] | None = None,
        unresolved_requires: list[str] | None = None,
        confirm_within_working_days: int | None = None,
        escalate_to: str | None = None,
        urgent: bool = False,
        module: str | None = None,  # one of MODULES (management checklists)
        criteria_label: str | None = None,  # a built-in line's criteria in English
    ) -> None:
        self.departure_id = departure_id
        self.category = category
        self.title = title
        self.label = label
        self.acceptance_criteria = acceptance_criteria
        self.criteria_label = criteria_label
        self.giver_id = giver_id
        self.receiver = receiver
        self.mandatory = mandatory
        self.priority = priority
        self.due_date = due_date
        self.template_item_key = template_item_key
        self.satisfied_by: list[JSONObject] = list(satisfied_by or [])
        self.department_may_confirm_directly = department_may_confirm_directly
        # Urgent lines may be worked while the departure's approval is pending (seed 001:
        # "标注'紧急'…需立即交接"); a checklist item's due date follows the last working day
        # until something else (frozen access) sets it.
        self.urgent = urgent
        self.module = module  # boards and signatures follow a management handover's modules
        self.due_follows_last_day = template_item_key is not None
        self.state = "open"
        self.submissions = 0
        self.evidence: list[JSONObject] = []
        # sha256 → {by, size, name, media_type} of the last upload of that file to this item;
        # not a constructor argument, so items recorded before uploads were events replay.
        self.uploads: dict[str, JSONObject] = {}
        self.uploaded_as: dict[str, frozenset[tuple[str, str]]] = {}  # every (name, type)
        self.confirmed_by: str | None = None
        self.submitted_by: str | None = None
        self.submission_note = ""  # the giver's note on the current (or rejected) submission
        self.reassigned_by: str | None = None
        self.last_decision_reason: str | None = None
        # the latest rejection (who, why, when, of which submission), kept after a
        # resubmission: what the giver was asked to put right
        self.last_rejection: JSONObject | None = None
        # signer slots (none: the receiver alone), the sign-offs of the
        # current submission (slot → who, note, lines, how), its lines and how it was handed
        self.signers: list[str] = list(signers or [])
        self.signers_in_order = signers_in_order
        self.signoffs: dict[str, JSONObject] = {}
        self.lines: list[JSONObject] = []
        self.line_rejections: list[JSONObject] = []
        self.submission_how: JSONObject | None = None
        self.submission_urgent = False
        # dependencies, receiver deadlines and questions (rules in dependency.py)
        self.requires: list[str] = list(requires or [])  # item ids of the same departure
        self.unresolved_requires: list[str] = list(unresolved_requires or [])  # checklist keys
        self.confirm_within_working_days = confirm_within_working_days
        self.escalate_to = escalate_to
        self.confirm_by: str | None = None  # of the current submission
        self.escalated_submission = 0
        self.questions: dict[str, JSONObject] = {}  # "1", "2", … → by, to, text, answer

    def signed_off_by(self) -> list[str]:
        """The principals whose sign-offs made this item confirmed, in the order they signed
        (one per signer slot; a person appears once). The handover confirmation names them
        per item and asks each of them to sign it."""
        if self.state != "confirmed":
            return []
        people = [str(s["by"]) for s in self.signoffs.values()]
        if not people and self.confirmed_by:  # confirmed before sign-offs were kept
            people = [self.confirmed_by]
        return list(dict.fromkeys(people))

    def status(self) -> ItemStatus:
        """Return the gate's view of this item."""
        return ItemStatus(str(self.id), self.title, self.mandatory, self.state)

    def submit(
        self, by: str, on_behalf: bool, note: str, evidence: list[JSONObject],
        acting_for: Collection[str] = (), lines: list[JSONObject] | None = None,
        how: JSONObject | None = None, urgent: bool = False,
        prerequisites: Mapping[str, str] | None = None, confirm_by: str | None = None,
    ) -> None:
        """Record a submission. Only the giver (a person, or anyone working the giver's
        department queue: finance prepares the final settlement), or HR on the giver's
        behalf, submits, and only once every required item is done (``prerequisites``: their
        states). A submission may carry lines, how it was handed over, and an urgent flag; a
        resubmission starts the sign-offs afresh. ``confirm_by``: the date the receiver must
        confirm by, computed by the service from the item's ``confirm_within_working_days``."""
        if self.state not in ("open", "rejected"):
            raise ItemNotOpenError(f"item {self.id} is {self.state}; it cannot be submitted")
        is_giver = by == self.giver_id or self.giver_id in acting_for
        if not is_giver and not on_behalf:
            raise NotGiverError(f"{by} is not the giver ({self.giver_id}) of item {self.id}; "
                                'HR may submit for the giver with "on_behalf": true')
        for cited in evidence:
            self._require_uploaded(cited)
        require_prerequisites_done(self.id, self.requires, prerequisites,
                                   self.unresolved_requires)
        self._submitted(by=by, on_behalf=on_behalf and not is_giver, note=note,
                        evidence=evidence, submission=self.submissions + 1, on_evidence=None,
                        confirm_by=self._deadline(confirm_by), lines=lines or None,
                        how=how or None, urgent=urgent)

    @event("Submitted", topic="ItemSubmitted")
    def _submitted(
        self, by: str, on_behalf: bool, note: str, evidence: list[JSONObject], submission: int,
        on_evidence: int | None, confirm_by: str | None, lines: list[JSONObject] | None = None,
        how: JSONObject | None = None, urgent: bool = False,
    ) -> None:
        self.confirm_by = confirm_by
        self.state = "submitted"
        self.submissions = submission
        self.submitted_by = by
        self.submission_note = note
        self.evidence = evidence
        # every submission is signed afresh, line by line
        self.signoffs = {}
        self.lines = list(lines or [])
        self.line_rejections = []
        self.submission_how = how
        self.submission_urgent = urgent

    def _require_uploaded(self, cited: JSONObject) -> None:
        """A submission cites only files uploaded to this item, as uploaded: a digest alone
        would let anyone cite (and then download through this item) another case's file."""
        sha256 = str(cited.get("sha256"))
        upload = self.uploads.get(sha256)
        if upload is None:
            raise InvalidInputError(f"evidence {sha256} was not uploaded to item {self.id}; "
                                    "upload it to this item first", field=f"evidence.{sha256}")
        if cited.get("size") != upload["size"]:
            raise InvalidInputError(
                f"evidence {sha256} was uploaded to item {self.id} with size {upload['size']}, "
                f"not {cited.get('size')}", field=f"evidence.{sha256}.size")
        name = check_file_name(str(cited.get("name", DEFAULT_NAME)),
                               field=f"evidence.{sha256}.name")
        media_type = check_media_type(str(cited.get("media_type", DEFAULT_MEDIA_TYPE)),
                                      field=f"evidence.{sha256}.media_type")
        # The receiver signs for files by name: a submission may not rename what was uploaded.
        uploaded_as = self.uploaded_as.get(sha256, frozenset())
        if (name, media_type) not in uploaded_as:
            known = ", ".join(sorted(f"{n!r} ({m})" for n, m in uploaded_as))
            raise InvalidInputError(
                f"evidence {sha256} was uploaded to item {self.id} as {known}, not as "
                f"{name!r} ({media_type}); cite it as uploaded", field=f"evidence.{sha256}.name")

    def record_upload(self, by: str, sha256: str, size: int, name: str,
                      media_type: str) -> None:
        """Record that ``by`` uploaded a file (stored under its SHA-256) to this item, until it
        is confirmed or waived (the service refuses it once the departure is final)."""
        self._require_not_done()
        self._evidence_uploaded(by=by, sha256=sha256, size=size,
                                name=check_file_name(name),
                                media_type=check_media_type(media_type))

    @event("EvidenceUploaded", topic="ItemEvidenceUploaded")
    def _evidence_uploaded(self, by: str, sha256: str, size: int, name: str,
                           media_type: str) -> None:
        self.uploads = {**self.uploads, sha256: {"by": by, "size": size, "name": name,
                                                 "media_type": media_type}}
        self.uploaded_as = {**self.uploaded_as, sha256: self.uploaded_as.get(
            sha256, frozenset()) | {(name, media_type)}}

    def confirm(
        self, by: str, acting_for: Collection[str], note: str, signature: JSONObject | None,
        acknowledged: list[str] | None = None, how: JSONObject | None = None,
        prerequisites: Mapping[str, str] | None = None,
    ) -> None:
        """Record one sign-off of the current submission (``acknowledged`` naming every one
        of its lines), or, where the checklist item allows it and the receiver is its one
        signer, of an open or rejected item outright (a direct confirmation); only once every
        required item is done (``prerequisites``: their states). The last required sign-off
        confirms the item (``ItemConfirmed``); each earlier one is an ``ItemSignedOff`` of its
        own, so the state, the gate and ``ledger verify`` see the item confirmed only when all
        have signed."""
        direct = (self.state in ("open", "rejected") and self.department_may_confirm_directly
                  and not self.signers)
        if direct:
            self._require_reviewer(by, acting_for)
        else:
            self._require_review(by, acting_for)
        require_prerequisites_done(self.id, self.requires, prerequisites,
                                   self.unresolved_requires)
        slot = self._signing_slot(by, acting_for, signing=True)
        acks = list(acknowledged or [])
        require_all_acknowledged([] if direct else self.lines, acks, self.id)
        if [s for s in pending_slots(self.required_signers(), self.signoffs) if s != slot]:
            self._signed_off(by=by, signer=slot, submission=self.submissions, note=note,
                             signature=signature, acknowledged=acks or None, how=how or None)
            return
        self._confirmed(by=by, receiver=self.receiver, submission=self.submissions,
                        note=note, signature=signature, direct=direct,
                        signer=slot if self.signers else None, acknowledged=acks or None,
                        how=how or None)

    @event("Confirmed", topic="ItemConfirmed")
    def _confirmed(
        self, by: str, receiver: str, submission: int, note: str, signature: JSONObject | None,
        direct: bool, signer: str | None = None, acknowledged: list[str] | None = None,
        how: JSONObject | None = None,
    ) -> None:
        self.state = "confirmed"
        self.confirmed_by = by
        self.signoffs = {**self.signoffs, signer or receiver: _signoff(
            by, note, signature, acknowledged, how)}

    def reject(self, by: str, acting_for: Collection[str], reason: str,
               rejected_lines: list[JSONObject] | None = None,
               acknowledged: list[str] | None = None) -> None:
        """Record a signer's refusal, naming the rejected lines with their reasons if it
        wishes; any one signer's rejection returns the item to its giver, who may
        resubmit."""
        require_reason(reason)
        self._require_review(by, acting_for)
        slot = self._signing_slot(by, acting_for, signing=False)
        ids = [str(line["id"]) for line in self.lines]
        rejected = list(rejected_lines or [])
        acks = list(acknowledged or [])
        require_known_lines(ids, [str(r["id"]) for r in rejected], "rejected_lines", self.id)
        require_known_lines(ids, acks, "acknowledged", self.id)
        require_lines_reviewed_once(acks, rejected)
        self._rejected(by=by, receiver=self.receiver, submission=self.submissions, reason=reason,
                       signer=slot if self.signers else None, rejected_lines=rejected or None,
                       acknowledged=acks or None)

    @event("Rejected", topic="ItemRejected")
    def _rejected(self, by: str, receiver: str, submission: int, reason: str,
                  signer: str | None = None, rejected_lines: list[JSONObject] | None = None,
                  acknowledged: list[str] | None = None) -> None:
        self.state = "rejected"
        self.last_decision_reason = reason
        self.last_rejection = {"by": by, "reason": reason, "at": self.event_at,
                               "submission": submission}
        self.line_rejections = [{**r, "by": by} for r in rejected_lines or []]

    # --- signers -------------------------------------------------------------------------
    def required_signers(self) -> list[str]:
        """The signer slots every submission needs: the declared ones, else the receiver."""
        return list(self.signers) or [self.receiver]

    def pending_signers(self) -> list[str]:
        """The slots still to sign the current submission (all of them unless submitted)."""
        return pending_slots(self.required_signers(), self.signoffs)

    def _signing_slot(self, by: str, acting_for: Collection[str], signing: bool) -> str:
        if not self.signers:  # the receiver alone: _require_reviewer has decided
            return self.receiver
        return choose_slot(self.signers, self.signoffs, by, acting_for,
                           self.signers_in_order, self.id, signing)

    @event("SignedOff", topic="ItemSignedOff")
    def _signed_off(self, by: str, signer: str, submission: int, note: str,
                    signature: JSONObject | None, acknowledged: list[str] | None = None,
                    how: JSONObject | None = None) -> None:
        self.signoffs = {**self.signoffs, signer: _signoff(
            by, note, signature, acknowledged, how)}

    def waive(self, by: str, reason: str) -> None:
        """Record HR waiving the item (the role check is the service's)."""
        require_reason(reason)
        self._require_not_done()
        self._waived(by=by, reason=reason, previous_state=self.state)

    @event("Waived", topic="ItemWaived")
    def _waived(self, by: str, reason: str, previous_state: str) -> None:
        self.state = "waived"
        self.last_decision_reason = reason

    def reassign(self, by: str, receiver: str, reason: str) -> None:
        """Give the item a new receiver (person id or department queue)."""
        self._require_not_done()
        if receiver == self.receiver:
            raise InvalidTransitionError(f"item {self.id} already goes to {receiver}")
        if receiver == by:
            raise NotReceiverError(f"{by} cannot make themself the receiver of item {self.id}")
        # the giver never receives; one person holds one slot
        if receiver == self.giver_id or receiver in self.signers:
            raise InvalidTransitionError(f"{receiver} already gives or signs item {self.id}")
        if any(s.get("by") == receiver for s in self.signoffs.values()):
            # They could neither sign the new slot nor reject: the submission would be stuck.
            raise InvalidTransitionError(f"{receiver} already signed off item {self.id}'s "
                                         "current submission in another slot")
        self._reassigned(by=by, previous_receiver=self.receiver, receiver=receiver,
                         reason=reason)

    @event("Reassigned", topic="ItemReassigned")
    def _reassigned(self, by: str, previous_receiver: str, receiver: str, reason: str) -> None:
        self.receiver = receiver
        self.reassigned_by = by
        # the receiver's slot moves with it; its sign-off, if any, stays
        self.signers = [receiver if s == previous_receiver else s for s in self.signers]

    # --- replacing a signer ----------------------------------------------------------------
    def replace_signer(self, by: str, previous: str, signer: str, reason: str) -> None:
        """Give one declared signer slot to someone else (a hand-over to another HR, a signer
        who left): only while the item is not done, and only a slot whose holder has not signed
        the current submission (their sign-off stands). The receiver's slot moves with
        ``reassign`` instead, so receiver and signers never drift apart. HR may take a slot
        themself: the HR a case was handed over to takes its former owner's "hr" slot."""
        require_reason(reason)
        self._require_not_done()
        if previous not in self.signers:
            raise InvalidTransitionError(f"{previous} is not a signer of item {self.id}"
                                         f" ({', '.join(self.signers) or 'none declared'})")
        if previous == self.receiver:
            raise InvalidTransitionError(
                f"{previous} is the receiver of item {self.id}; their slot moves with "
                f"POST /v1/items/{self.id}/reassign")
        current = self.signoffs if self.state == "submitted" else {}
        if previous in current:
            raise InvalidTransitionError(f"{previous} already signed off item {self.id}'s "
                                         "current submission; their sign-off stands")
        if signer == self.giver_id or signer in self.signers:
            raise InvalidTransitionError(f"{signer} already gives or signs item {self.id}")
        if any(s.get("by") == signer for s in current.values()):
            raise InvalidTransitionError(f"{signer} already signed off item {self.id}'s "
                                         "current submission in another slot")
        self._signer_replaced(by=by, previous=previous, signer=signer, reason=reason)

    @event("SignerReplaced", topic="ItemSignerReplaced")
    def _signer_replaced(self, by: str, previous: str, signer: str, reason: str) -> None:
        self.signers = [signer if s == previous else s for s in self.signers]

    def change_due_date(self, by: str, due_date: str, reason: str, cause: str,
                        urgent: bool) -> None:
        """Move the due date of an item not yet done: ``cause`` is ``last_working_day`` (the
        date still follows it) or ``access_frozen`` (due now, urgent; it no longer follows)."""
        self._require_not_done()
        self._due_date_changed(by=by, previous_due_date=self.due_date, due_date=due_date,
                               reason=reason, cause=cause, urgent=urgent or self.urgent)

    @event("DueDateChanged", topic="ItemDueDateChanged")
    def _due_date_changed(self, by: str, previous_due_date: str | None, due_date: str,
                          reason: str, cause: str, urgent: bool) -> None:
        self.due_date = due_date
        self.urgent = urgent
        self.due_follows_last_day = self.due_follows_last_day and cause == "last_working_day"

    @event("Commented", topic="ItemCommented")
    def comment(self, by: str, text: str) -> None:
        """Record a comment; allowed in every state."""

    def accepts_evidence_from(self, role: str, principal_id: str, kind: str) -> bool:
        """Whether this item takes external evidence of ``kind`` from this source: its own
        department queue (any kind), or a system its checklist item names for that kind."""
        return self.receiver == f"dept:{role}" or self.satisfied_by_report(
            role, principal_id, kind)

    def satisfied_by_report(self, role: str, principal_id: str, kind: str) -> bool:
        """Whether such a report satisfies this item (its checklist item says so)."""
        return role == "system" and any(
            rule.get("kind") == kind and rule.get("principal_id") in (None, principal_id)
            for rule in self.satisfied_by)

    def record_external_evidence(
        self, by: str, role: str, source: str, kind: str, reference: str, details: JSONObject,
        prerequisites: Mapping[str, str] | None = None, confirm_by: str | None = None,
    ) -> None:
        """Record what another system or the item's department reports (e.g. IAM: account
        disabled); satisfying evidence on an open or rejected item submits it on that word,
        once every item it requires is done (before that, the report is only recorded)."""
        if not self.accepts_evidence_from(role, by, kind):
            raise NotEvidenceSourceError(
                f"item {self.id} takes external evidence only from its department queue "
                f"({self.receiver}) or a system its checklist item names")
        self._external_evidence_recorded(by=by, source=source, kind=kind, reference=reference,
                                         details=details)
        if self.state in ("open", "rejected") and self.satisfied_by_report(
                role, by, kind) and self.prerequisites_done(prerequisites):
            self._submitted(by=by, on_behalf=False,
                            note=f"submitted on the report of {source}: {kind} {reference}".strip(),
                            evidence=[], submission=self.submissions + 1,
                            on_evidence=self.version, confirm_by=self._deadline(confirm_by))

    @event("ExternalEvidenceRecorded", topic="ItemExternalEvidenceRecorded")
    def _external_evidence_recorded(
        self, by: str, source: str, kind: str, reference: str, details: JSONObject
    ) -> None:
        pass

    def _require_review(self, by: str, acting_for: Collection[str]) -> None:
        self._require_not_done()
        if self.state != "submitted":
            raise ItemNotSubmittedError(
                f"item {self.id} is {self.state}; only a submitted item can be reviewed "
                f"(the giver, {self.giver_id}, or HR on their behalf submits it first)"
            )
        self._require_reviewer(by, acting_for)

    def _require_reviewer(self, by: str, acting_for: Collection[str]) -> None:
        self._require_not_done()
        if not any(slot in acting_for for slot in self.required_signers()):
            raise NotReceiverError(f"only the receiver ({self.receiver}) reviews item {self.id}"
                                   if not self.signers else
                                   f"only its signers ({', '.join(self.signers)}) review "
                                   f"item {self.id}")
        # Separation of duties: nobody reviews what they gave or submitted (e.g. a leaver in
        # IT working the dept:it queue, or HR who submitted on the giver's behalf).
        if by in (self.giver_id, self.submitted_by, self.reassigned_by):
            raise NotReceiverError(
                f"{by} gave, submitted or reassigned item {self.id} and cannot review it")

    def require_not_done(self) -> None:
        """Refuse (409) any write to an item already confirmed or waived."""
        self._require_not_done()

    def _require_not_done(self) -> None:
        if self.state in DONE_STATES:
            raise ItemAlreadyDoneError(f"item {self.id} is already {self.state}")


    # --- dependencies, receiver deadlines and questions (rules in dependency.py) -----------

    def prerequisites_done(self, prerequisites: Mapping[str, str] | None) -> bool:
        """Whether every item this one requires is confirmed or waived, on these states."""
        try:
            require_prerequisites_done(self.id, self.requires, prerequisites,
                                       self.unresolved_requires)
        except InvalidTransitionError:
            return False
        return True

    def link_requirements(self, resolved: Mapping[str, list[str]]) -> None:
        """Resolve required checklist keys that no item of the case held when this one was
        created, now that a checklist applied later holds them (``resolved``: key → ids)."""
        self._require_not_done()
        keys = [k for k in self.unresolved_requires if k in resolved]
        if not keys:
            raise InvalidTransitionError(f"item {self.id} requires none of "
                                         f"{', '.join(sorted(resolved))}")
        item_ids = list(dict.fromkeys(i for k in keys for i in resolved[k]
                                      if i not in self.requires))
        self._requirements_linked(keys=keys, item_ids=item_ids)

    @event("RequirementsLinked", topic="ItemRequirementsLinked")
    def _requirements_linked(self, keys: list[str], item_ids: list[str]) -> None:
        self.requires = [*self.requires, *item_ids]
        self.unresolved_requires = [k for k in self.unresolved_requires if k not in keys]

    def _deadline(self, confirm_by: str | None) -> str | None:
        # Only an item with a confirmation period carries a deadline.
        return confirm_by if self.confirm_within_working_days is not None else None

    def escalate_confirmation(self, by: str, today: str, to: str, channel: str,
                              message: str) -> None:
        """Record that the receiver's confirmation is overdue and was escalated to ``to``
        (once per submission; ``today`` is the organisation's date, read by the service)."""
        require_overdue(self.id, self.state, self.confirm_by, today,
                        self.escalated_submission, self.submissions)
        self._confirmation_escalated(by=by, to=to, receiver=self.receiver,
                                     submission=self.submissions, confirm_by=self.confirm_by,
                                     overdue_on=today, channel=channel, message=message)

    @event("ConfirmationEscalated", topic="ItemConfirmationEscalated")
    def _confirmation_escalated(self, by: str, to: str, receiver: str, submission: int,
                                confirm_by: str | None, overdue_on: str, channel: str,
                                message: str) -> None:
        self.escalated_submission = submission

    def ask(self, by: str, to: str, text: str) -> str:
        """Record a question to ``to`` (a comment that awaits their answer); returns its id."""
        if to == by:
            raise InvalidInputError("a question is addressed to someone else",
                                    field="question_to")
        question_id = str(len(self.questions) + 1)
        self._question_asked(by=by, question_id=question_id, to=to, text=text)
        return question_id

    @event("QuestionAsked", topic="ItemQuestionAsked")
    def _question_asked(self, by: str, question_id: str, to: str, text: str) -> None:
        self.questions = {**self.questions, question_id: {
            "question_id": question_id, "by": by, "to": to, "text": text, "answer": None,
            "answered_by": None}}

    def answer(self, by: str, acting_for: Collection[str], question_id: str, text: str) -> None:
        """Record the addressee's answer to a question (a department queue's: anyone working
        it); only they answer, and only once."""
        question = self.questions.get(question_id)
        if question is None:
            raise QuestionStateError(f"item {self.id} has no question {question_id}")
        if question["to"] not in acting_for:
            raise ForbiddenError(f"question {question_id} of item {self.id} is addressed to "
                                 f"{question['to']}; only they answer it")
        if question["answer"] is not None:
            raise QuestionStateError(f"question {question_id} of item {self.id} was answered "
                                     "already")
        self._question_answered(by=by, question_id=question_id, text=text)

    @event("QuestionAnswered", topic="ItemQuestionAnswered")
    def _question_answered(self, by: str, question_id: str, text: str) -> None:
        self.questions = {**self.questions, question_id: {
            **self.questions[question_id], "answer": text, "answered_by": by}}

    def unanswered_questions(self) -> list[JSONObject]:
        """The questions still awaiting their answer (warnings at close), oldest first."""
        return [{"item_id": str(self.id), "question_id": q["question_id"], "by": q["by"],
                 "to": q["to"]} for q in self.questions.values() if q["answer"] is None]


def _signoff(by: str, note: str, signature: JSONObject | None,
             acknowledged: list[str] | None, how: JSONObject | None) -> JSONObject:
    """What an item keeps of one sign-off (the event holds the rest)."""
    return {"by": by, "note": note, "signed": signature is not None,
            "acknowledged": list(acknowledged or []), "how": how}


def require_reason(reason: str) -> None:
    """Refuse an empty or blank reason (rejections, waivers, withdrawals)."""
    if not reason.strip():
        raise InvalidInputError("a reason is required", field="reason")
