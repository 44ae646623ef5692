"""HandoverItem: one thing a leaver hands over, and the proof of who accepted it.

States (DESIGN.md): open → submitted → confirmed; submitted → rejected → (resubmit) submitted;
open, submitted or rejected → waived (HR, with reason). Nothing is deleted.

A checklist item may name the external evidence that satisfies it (``satisfied_by``: an IAM
system's ``account_disabled``): when an allowed system reports it on an open or rejected item,
the item is submitted on the system's word and still awaits its receiver's confirmation. With
``department_may_confirm_directly`` the receiver may instead confirm an open item outright.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from eventsourcing.domain import Aggregate, event

from ledger.aggregates.evidence import (
    DEFAULT_MEDIA_TYPE,
    DEFAULT_NAME,
    check_file_name,
    check_media_type,
)
from ledger.canonical import JSONObject
from ledger.errors import ForbiddenError, InvalidInputError, InvalidTransitionError

CATEGORIES = (
    "clients", "projects", "documents", "accounts_permissions",
    "assets", "finance", "knowledge", "management",
)
PRIORITIES = ("low", "normal", "high", "critical")
DEPARTMENT_QUEUES = ("dept:it", "dept:finance", "dept:admin")
DONE_STATES = frozenset({"confirmed", "waived"})


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


class HandoverItem(Aggregate):
    """One handover item; methods check the rule, then record the event."""

    TOPIC = "HandoverItem"

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
        urgent: bool = False,
    ) -> None:
        self.departure_id = departure_id
        self.category = category
        self.title = title
        self.label = label
        self.acceptance_criteria = acceptance_criteria
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
        self.reassigned_by: str | None = None
        self.last_decision_reason: str | None = None

    def status(self) -> ItemStatus:
        """Return the gate's view of this item."""
        return ItemStatus(str(self.id), self.title, self.mandatory, self.state)

    def submit(
        self, by: str, on_behalf: bool, note: str, evidence: list[JSONObject]
    ) -> None:
        """Record a submission. Only the giver, or HR on the giver's behalf, submits."""
        if self.state not in ("open", "rejected"):
            raise ItemNotOpenError(f"item {self.id} is {self.state}; it cannot be submitted")
        if by != self.giver_id and not on_behalf:
            raise NotGiverError(f"{by} is not the giver ({self.giver_id}) of item {self.id}; "
                                'HR may submit for the giver with "on_behalf": true')
        for cited in evidence:
            self._require_uploaded(cited)
        self._submitted(by=by, on_behalf=on_behalf and by != self.giver_id, note=note,
                        evidence=evidence, submission=self.submissions + 1, on_evidence=None)

    @event("Submitted", topic="ItemSubmitted")
    def _submitted(
        self, by: str, on_behalf: bool, note: str, evidence: list[JSONObject], submission: int,
        on_evidence: int | None,
    ) -> None:
        self.state = "submitted"
        self.submissions = submission
        self.submitted_by = by
        self.evidence = evidence

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
        """Record that ``by`` uploaded a file (stored under its SHA-256) to this item; allowed
        in every state of the item (the service refuses it once the departure is final)."""
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
        self, by: str, acting_for: Collection[str], note: str, signature: JSONObject | None
    ) -> None:
        """Record the receiver's acceptance of the current submission, or, where the checklist
        item allows it, of an open or rejected item outright (a direct confirmation)."""
        direct = self.state in ("open", "rejected") and self.department_may_confirm_directly
        if direct:
            self._require_reviewer(by, acting_for)
        else:
            self._require_review(by, acting_for)
        self._confirmed(by=by, receiver=self.receiver, submission=self.submissions,
                        note=note, signature=signature, direct=direct)

    @event("Confirmed", topic="ItemConfirmed")
    def _confirmed(
        self, by: str, receiver: str, submission: int, note: str, signature: JSONObject | None,
        direct: bool,
    ) -> None:
        self.state = "confirmed"
        self.confirmed_by = by

    def reject(self, by: str, acting_for: Collection[str], reason: str) -> None:
        """Record the receiver's refusal; the giver may resubmit."""
        require_reason(reason)
        self._require_review(by, acting_for)
        self._rejected(by=by, receiver=self.receiver, submission=self.submissions, reason=reason)

    @event("Rejected", topic="ItemRejected")
    def _rejected(self, by: str, receiver: str, submission: int, reason: str) -> None:
        self.state = "rejected"
        self.last_decision_reason = reason

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
        self._reassigned(by=by, previous_receiver=self.receiver, receiver=receiver,
                         reason=reason)

    @event("Reassigned", topic="ItemReassigned")
    def _reassigned(self, by: str, previous_receiver: str, receiver: str, reason: str) -> None:
        self.receiver = receiver
        self.reassigned_by = by

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
        self, by: str, role: str, source: str, kind: str, reference: str, details: JSONObject
    ) -> None:
        """Record what another system or the item's department reports (e.g. IAM: account
        disabled); satisfying evidence on an open or rejected item submits it on that word."""
        if not self.accepts_evidence_from(role, by, kind):
            raise NotEvidenceSourceError(
                f"item {self.id} takes external evidence only from its department queue "
                f"({self.receiver}) or a system its checklist item names")
        self._external_evidence_recorded(by=by, source=source, kind=kind, reference=reference,
                                         details=details)
        if self.state in ("open", "rejected") and self.satisfied_by_report(role, by, kind):
            self._submitted(by=by, on_behalf=False,
                            note=f"submitted on the report of {source}: {kind} {reference}".strip(),
                            evidence=[], submission=self.submissions + 1,
                            on_evidence=self.version)

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
        if self.receiver not in acting_for:
            raise NotReceiverError(f"only the receiver ({self.receiver}) reviews item {self.id}")
        # Separation of duties: nobody reviews what they gave or submitted (e.g. a leaver in
        # IT working the dept:it queue, or HR who submitted on the giver's behalf).
        if by in (self.giver_id, self.submitted_by, self.reassigned_by):
            raise NotReceiverError(
                f"{by} gave, submitted or reassigned item {self.id} and cannot review it")

    def _require_not_done(self) -> None:
        if self.state in DONE_STATES:
            raise ItemAlreadyDoneError(f"item {self.id} is already {self.state}")


def require_reason(reason: str) -> None:
    """Refuse an empty or blank reason (rejections, waivers, withdrawals)."""
    if not reason.strip():
        raise InvalidInputError("a reason is required", field="reason")
