"""The report's content, read from a bundle's entries alone (docs/bundle-format.md, "Report
source"): the case, its checklists, each item's timeline, reminders, the handover confirmation,
the close, disputes and earlier exports, and what a verifier needs.

Pure and deterministic: the same ``ReportSource`` gives the same ``Report``. Entries are
decoded with ``ledger.entry.decode_entry`` and replayed with the aggregates' own code, so the
report shows the states ``ledger verify-bundle`` replays.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from eventsourcing.domain import Aggregate

from ledger.aggregates.codec import replay
from ledger.aggregates.departure import Departure
from ledger.aggregates.dispute import Dispute
from ledger.aggregates.item import HandoverItem
from ledger.bundle.layout import CHECKPOINT, report_source_listing
from ledger.bundle.report_client import Client, clients_of
from ledger.bundle.report_labels import (
    DEPARTURE_STATES,
    DISPUTE_STATES,
    ITEM_STATES,
    code_words,
    receiver_label,
    state_words,
)
from ledger.bundle.report_row import Clock, Moment, Row, row_of, uploads_of
from ledger.bundle.report_verify import CheckpointView, KeyView, checkpoint_view, key_views
from ledger.bundle.source import ReportSource
from ledger.entry import Entry, decode_entry, parse_time
from ledger.errors import VerificationError

T = TypeVar("T")
_OWN_SECTIONS = ("DepartureReminderSent", "DepartureConfirmationSigned",
                 "DepartureConfirmationSignatureExcused", "DepartureClosed")


def is_export(event_type: str) -> bool:
    """An export record (``EvidenceExported`` on the departure)."""
    return event_type.endswith("EvidenceExported")


@dataclass(frozen=True)
class ApprovalStep:
    """One step of the approval chain and every decision on it."""

    number: int
    name: str
    approver: str
    decisions: tuple[Row, ...]


@dataclass(frozen=True)
class Case:
    """The case's facts as they stand after its last entry."""

    leaver_id: str
    leaver_name: str
    department: str
    position: str
    role_family: str
    manager: str
    hr_owner: str
    successor: str
    notice_date: str
    last_working_day: str
    reason: str
    state: str
    state_zh: str
    state_en: str
    legal_hold: bool
    held_by: tuple[str, ...]
    """The disputes that placed the legal hold, in the order they did."""
    approval: tuple[ApprovalStep, ...]


@dataclass(frozen=True)
class Checklist:
    """A checklist revision the case applied."""

    name: str
    key: str
    revision: str
    content_hash: str
    author: str
    revised_at: Moment | None
    lines: int
    items: int
    path: str


@dataclass(frozen=True)
class Item:
    """One item of the case and its timeline."""

    id: str
    title: str
    category: str
    giver: str
    receiver: str
    receiver_zh: str
    receiver_en: str
    signers: str
    mandatory: bool
    state: str
    state_zh: str
    state_en: str
    rows: tuple[Row, ...]
    waiver_reason: str = ""
    """Why HR waived it, for a waived item."""


@dataclass(frozen=True)
class ItemCounts:
    """How the case's items stand: the first page states them, whatever the title says."""

    total: int
    confirmed: int
    waived: int
    open: int
    """Neither confirmed nor waived (open, submitted or rejected)."""
    waived_numbers: tuple[int, ...]
    """The waived items' places in section 3 (from 1), where each shows its reason."""


def item_counts(items: tuple[Item, ...] | list[Item]) -> ItemCounts:
    """The counts of ``items`` by outcome."""
    confirmed = sum(1 for i in items if i.state == "confirmed")
    waived = tuple(n for n, i in enumerate(items, start=1) if i.state == "waived")
    return ItemCounts(total=len(items), confirmed=confirmed, waived=len(waived),
                      open=len(items) - confirmed - len(waived), waived_numbers=waived)


@dataclass(frozen=True)
class DisputeView:
    """A dispute on the case and its timeline."""

    id: str
    number: int
    """Its place in section 7 (from 1), which the case summary points to."""
    state: str
    state_zh: str
    state_en: str
    claim: str
    raised_by: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Report:
    """Everything the report prints."""

    departure_id: str
    generated_at: Moment
    interim: bool
    title_zh: str
    title_en: str
    completed: bool
    """A final bundle of a closed case: the only report titled a certificate of completion."""
    counts: ItemCounts
    time_zone: str
    source_sha256: str
    case: Case
    case_rows: tuple[Row, ...]
    checklists: tuple[Checklist, ...]
    items: tuple[Item, ...]
    reminders: tuple[Row, ...]
    confirmations: tuple[Row, ...]
    closes: tuple[Row, ...]
    disputes: tuple[DisputeView, ...]
    exports: tuple[Row, ...]
    checkpoint: CheckpointView
    keys: tuple[KeyView, ...]
    clients: tuple[Client, ...]
    entries: int
    listing: str
    """The report source listing (``sha256sum`` of ``checkpoint`` and every entry)."""


class _Streams:
    """The decoded entries by stream, each in version order, with their bundle paths."""

    def __init__(self, files: dict[str, bytes], decoded: Mapping[str, Entry],
                 strict: bool, replayed: Mapping[tuple[str, str], Aggregate]) -> None:
        self.replayed = replayed
        self.by_stream: dict[tuple[str, str], list[tuple[str, Entry]]] = defaultdict(list)
        for path in sorted(files):
            raw = files[path]
            entry = decoded.get(path)
            if entry is None or (entry.raw is not raw and entry.raw != raw):
                entry = decode_entry(raw, strict=strict)
            self.by_stream[(entry.stream_type, str(entry.stream_id))].append((path, entry))
        for stream in self.by_stream.values():
            stream.sort(key=lambda pair: pair[1].version)

    def of(self, stream_type: str, stream_id: str) -> list[tuple[str, Entry]]:
        return self.by_stream.get((stream_type, stream_id), [])

    def aggregate(self, kind: type[T], entries: list[tuple[str, Entry]]) -> T:
        """The aggregate ``entries`` (one stream, in version order) replay to: the caller's
        when it replayed exactly these versions, 1 to the last, else replayed here."""
        last = entries[-1][1]
        known = self.replayed.get((last.stream_type, str(last.stream_id)))
        state = (known if known is not None and known.version == last.version == len(entries)
                 else replay(e for _, e in entries))
        if not isinstance(state, kind):
            raise VerificationError(f"{entries[0][0]}: not a {kind.__name__} stream")
        return state


def _text(value: object, default: str = "-") -> str:
    return str(value) if value not in (None, "") else default


def _case(departure: Departure, own: list[tuple[str, Entry]], rows: list[Row]) -> Case:
    steps = []
    for number, step in enumerate(departure.approval_chain):
        decisions = tuple(r for (_, e), r in zip(own, rows, strict=True) if e.event_type in (
            "DepartureStepApproved", "DepartureStepRejected") and e.payload.get("step") == number)
        steps.append(ApprovalStep(number + 1, _text(step.get("name")),
                                  _text(step.get("approver_id")), decisions))
    leaver = departure.leaver
    zh, en = state_words(DEPARTURE_STATES, departure.state)
    held_by = tuple(str(e.payload.get("dispute_id")) for _, e in own
                    if e.event_type == "DepartureLegalHoldPlaced")
    return Case(leaver_id=_text(leaver.get("id")), leaver_name=_text(leaver.get("name")),
                department=_text(leaver.get("department")),
                position=_text(leaver.get("position")),
                role_family=code_words("role_family", _text(leaver.get("role_family"))),
                manager=_text(departure.manager_id), hr_owner=_text(departure.hr_owner_id),
                successor=_text(departure.successor_id), notice_date=departure.notice_date,
                last_working_day=departure.last_working_day, reason=departure.reason,
                state=departure.state, state_zh=zh, state_en=en,
                legal_hold=bool(departure.legal_hold), held_by=held_by, approval=tuple(steps))


def _checklists(departure: Departure, streams: _Streams, clock: Clock) -> list[Checklist]:
    out = []
    for applied in departure.templates:
        revision = applied.get("revision")
        found = [(p, e) for p, e in streams.of("template", str(applied.get("id")))
                 if e.payload.get("revision", 1) == revision]
        path, entry = found[0] if found else ("-", None)
        payload = entry.payload if entry else {}
        items = [e.payload.get("item_ids") for _, e in streams.of("departure", str(departure.id))
                 if e.event_type == "DepartureTemplateApplied"
                 and e.payload.get("template") == applied]
        lines = payload.get("items")
        out.append(Checklist(
            name=_text(payload.get("name")), key=_text(applied.get("key")),
            revision=_text(revision), content_hash=_text(applied.get("content_hash")),
            author=_text(payload.get("author")),
            revised_at=clock.moment(entry.recorded_at) if entry else None,
            lines=len(lines) if isinstance(lines, list) else 0,
            items=sum(len(i) for i in items if isinstance(i, list)), path=path))
    return out


def _item(item_id: str, streams: _Streams, clock: Clock) -> Item:
    entries = streams.of("item", item_id)
    if not entries:
        raise VerificationError(f"entries/item/{item_id}: item of the departure is missing")
    item = streams.aggregate(HandoverItem, entries)
    receiver_zh, receiver_en = receiver_label(item.receiver)
    state_zh, state_en = state_words(ITEM_STATES, item.state)
    return Item(id=item_id, title=item.title, category=code_words("category", item.category),
                giver=item.giver_id,
                receiver=item.receiver, receiver_zh=receiver_zh, receiver_en=receiver_en,
                signers=", ".join(item.signers) or "-",
                mandatory=item.mandatory, state=item.state, state_zh=state_zh,
                state_en=state_en,
                rows=tuple(row_of(p, e, item.title, clock) for p, e in entries),
                waiver_reason=(item.last_decision_reason or "-") if item.state == "waived"
                else "")


def _dispute(number: int, dispute_id: str, streams: _Streams, clock: Clock) -> DisputeView:
    entries = streams.of("dispute", dispute_id)
    if not entries:
        raise VerificationError(f"entries/dispute/{dispute_id}: dispute is missing")
    dispute = streams.aggregate(Dispute, entries)
    zh, en = state_words(DISPUTE_STATES, dispute.state)
    return DisputeView(id=dispute_id, number=number, state=dispute.state, state_zh=zh,
                       state_en=en, claim=dispute.claim,
                       raised_by=f"{dispute.raised_by} ({dispute.raised_as})",
                       rows=tuple(row_of(p, e, None, clock) for p, e in entries))


def _by_time(rows: list[Row]) -> tuple[Row, ...]:
    return tuple(sorted(rows, key=lambda r: (r.at.utc, r.path)))


def title_of(interim: bool, state: str) -> tuple[str, str]:
    """The report's title: a certificate of completion only for a final bundle of a closed
    case; an evidence report, withdrawn or interim, otherwise."""
    if interim:
        return "离职交接证据报告（临时）", "Handover evidence report (interim)"
    if state == "closed":
        return "离职交接完成证明", "Handover certificate of completion"
    if state == "withdrawn":
        return "离职交接证据报告（已撤回）", "Handover evidence report (withdrawn)"
    return "离职交接证据报告", "Handover evidence report"


def build_report(source: ReportSource, *, decoded: Mapping[str, Entry] | None = None,
                 strict: bool = True,
                 replayed: Mapping[tuple[str, str], Aggregate] | None = None) -> Report:
    """The report of ``source``; VerificationError if an entry is malformed or the departure
    or one of its items or disputes is missing. ``decoded``, ``strict`` and ``replayed``: as
    for ``ledger.bundle.report.render_report_html``."""
    streams = _Streams(source.entries, decoded or {}, strict, replayed or {})
    clients = clients_of(e.context for stream in streams.by_stream.values() for _, e in stream)
    clock = Clock(source.time_zone, clients,
                  uploads_of(pair for stream in streams.by_stream.values() for pair in stream))
    own = streams.of("departure", source.departure_id)
    if not own:
        raise VerificationError(f"entries/departure/{source.departure_id}: missing")
    departure = streams.aggregate(Departure, own)
    rows = [row_of(p, e, None, clock) for p, e in own]
    items = [_item(i, streams, clock) for i in departure.item_ids]
    disputes = [_dispute(n, d, streams, clock)
                for n, d in enumerate(departure.dispute_ids, start=1)]
    interim = source.status != "final"
    title_zh, title_en = title_of(interim, departure.state)
    escalations = [r for i in items for r in i.rows if r.type == "ItemConfirmationEscalated"]
    return Report(
        departure_id=source.departure_id,
        generated_at=clock.moment(parse_time(source.generated_at)),
        interim=interim, title_zh=title_zh, title_en=title_en,
        completed=not interim and departure.state == "closed", counts=item_counts(items),
        time_zone=source.time_zone,
        source_sha256=source.report_source_sha256, case=_case(departure, own, rows),
        case_rows=tuple(r for r in rows if r.type not in _OWN_SECTIONS and not is_export(r.type)),
        checklists=tuple(_checklists(departure, streams, clock)), items=tuple(items),
        reminders=_by_time([r for r in rows if r.type == "DepartureReminderSent"]
                           + escalations),
        confirmations=tuple(r for r in rows if r.type.startswith("DepartureConfirmation")),
        closes=tuple(r for r in rows if r.type == "DepartureClosed"),
        disputes=tuple(disputes), exports=tuple(r for r in rows if is_export(r.type)),
        checkpoint=checkpoint_view(source.checkpoint), keys=key_views(source.keys),
        clients=tuple(clients.values()),
        entries=len(source.entries), listing=report_source_listing(
            {CHECKPOINT: source.checkpoint, **source.entries}).decode("ascii"))

