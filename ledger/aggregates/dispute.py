"""Dispute: a claim about a case after (or before) its close, its parties' statements, and
HR's finding on responsibility.

Seed 000: a month after the sales manager left, his successor claimed the client's latest
requirements had been hidden; seed 002: HR found "责任界定为'接收方未履行确认义务'". A dispute
is its own stream, linked to its departure (which records a legal hold) and to the items it
concerns. States: open → found (the finding closes it; no statement follows).
"""

from __future__ import annotations

from eventsourcing.domain import Aggregate, event

from ledger.aggregates.evidence import check_file_name, check_media_type
from ledger.aggregates.item import require_reason
from ledger.aggregates.timed import Timed, TimedEvent
from ledger.canonical import JSONObject
from ledger.errors import InvalidInputError, InvalidTransitionError

RESPONSIBILITIES = ("giver", "receiver", "shared", "none")
DISPUTE_STATES = ("open", "found")


class DisputeClosedError(InvalidTransitionError):
    """Adding to a dispute HR has already decided."""


class Dispute(Timed, Aggregate):
    """One dispute; methods check the rule, then record the event."""

    TOPIC = "Dispute"

    class Event(TimedEvent):
        TOPIC = "DisputeEvent"

    @event("Created", topic="DisputeRaised")
    def __init__(self, departure_id: str, item_ids: list[str], raised_by: str,
                 raised_as: str, claim: str) -> None:
        self.departure_id = departure_id
        self.item_ids = list(item_ids)
        self.raised_by = raised_by
        self.raised_as = raised_as
        self.claim = claim
        self.state = "open"
        self.statements: list[JSONObject] = []
        self.uploads: dict[str, JSONObject] = {}  # sha256 → {by, size, name, media_type}
        self.finding: JSONObject | None = None

    def add_statement(self, by: str, party: str, text: str,
                      evidence: list[JSONObject]) -> None:
        """Record one party's statement. ``evidence`` cites files the service has checked
        are in the case (an item's upload); a file without ``item_id`` must be this
        dispute's own upload."""
        require_reason(text)
        self.require_open()
        for cited in evidence:
            if cited.get("item_id") is None and cited.get("sha256") not in self.uploads:
                raise InvalidInputError(
                    f"evidence {cited.get('sha256')} was not uploaded to dispute {self.id}; "
                    "upload it with POST /v1/disputes/{id}/evidence, or name the item it was "
                    "uploaded to", field=f"evidence.{cited.get('sha256')}")
        self._statement_added(by=by, party=party, text=text, evidence=evidence)

    @event("StatementAdded", topic="DisputeStatementAdded")
    def _statement_added(self, by: str, party: str, text: str,
                         evidence: list[JSONObject]) -> None:
        self.statements = [*self.statements, {"by": by, "party": party, "text": text,
                                              "evidence": evidence,
                                              "recorded_at": self.event_at}]

    def record_upload(self, by: str, sha256: str, size: int, name: str,
                      media_type: str) -> None:
        """Record a file uploaded as evidence to this open dispute."""
        self.require_open()
        self._evidence_uploaded(by=by, sha256=sha256, size=size, name=check_file_name(name),
                                media_type=check_media_type(media_type))

    @event("EvidenceUploaded", topic="DisputeEvidenceUploaded")
    def _evidence_uploaded(self, by: str, sha256: str, size: int, name: str,
                           media_type: str) -> None:
        self.uploads = {**self.uploads, sha256: {"by": by, "size": size, "name": name,
                                                 "media_type": media_type}}

    def record_finding(self, by: str, responsibility: str, reasons: str) -> None:
        """HR's finding: responsibility with the giver, the receiver, shared, or none, and
        why. It closes the dispute."""
        require_reason(reasons)
        self.require_open()
        if responsibility not in RESPONSIBILITIES:
            raise InvalidInputError(f"responsibility must be one of {RESPONSIBILITIES}",
                                    field="responsibility")
        self._finding_recorded(by=by, responsibility=responsibility, reasons=reasons)

    @event("FindingRecorded", topic="DisputeFindingRecorded")
    def _finding_recorded(self, by: str, responsibility: str, reasons: str) -> None:
        self.state = "found"
        self.finding = {"by": by, "responsibility": responsibility, "reasons": reasons,
                        "recorded_at": self.event_at}

    def require_open(self) -> None:
        """Refuse anything more once HR has recorded the finding."""
        if self.state != "open":
            raise DisputeClosedError(f"dispute {self.id} has its finding; it takes nothing more")
