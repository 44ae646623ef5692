"""Read use cases, authorized by role and relation like the commands.

Overseers (HR, legal, auditors) read everything; others read what they take part in: the
leaver, their manager and HR owner, the approvers, and each item's giver and receiver.
"""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from ledger.aggregates.codec import replay
from ledger.aggregates.departure import Departure
from ledger.aggregates.dispute import Dispute
from ledger.aggregates.item import HandoverItem
from ledger.aggregates.template import Template
from ledger.canonical import JSONObject
from ledger.entry import Entry
from ledger.errors import ForbiddenError, InvalidTransitionError, NotFoundError
from ledger.service.context import Actor
from ledger.service.dispute_queries import authorize_dispute
from ledger.service.evidence_cases import UPLOADERS, require_uploader
from ledger.service.item_cases import require_open
from ledger.service.item_flow import default_calendar
from ledger.service.ledger import Ledger
from ledger.service.policy import require_role
from ledger.service.relation import (
    absent,
    may_read_departure,
    may_read_item_alone,
    unaccepted_request,
)
from ledger.service.signature import confirmation_statement


async def get_departure(ledger: Ledger, actor: Actor, departure_id: UUID) -> Departure:
    """A departure its reader is entitled to see: besides those who take part in the case
    itself, whoever gives, receives or signs one of its items reads the case's view (its
    dates, progress and confirmation; never the leaver's papers nor the raw entries), as the
    successor of seed 000 must see what else was handed over."""
    departure = await ledger.load(Departure, departure_id)
    if not may_read_departure(actor, departure) and (
            unaccepted_request(departure) or not await _works_an_item(ledger, actor,
                                                                          departure)):
        raise absent(departure.id)
    return departure


async def _works_an_item(ledger: Ledger, actor: Actor, departure: Departure) -> bool:
    for item_id in departure.item_ids:
        if may_read_item_alone(actor, await ledger.load(HandoverItem, item_id)):
            return True
    return False


def _authorize_departure(actor: Actor, departure: Departure) -> None:
    # To whoever may not read it, a case is absent: the answer is a missing one's, word for
    # word, so a refusal never confirms that an id exists.
    if not may_read_departure(actor, departure):
        raise absent(departure.id)


async def get_item(ledger: Ledger, actor: Actor, item_id: UUID) -> HandoverItem:
    """An item its reader is entitled to see."""
    item = await ledger.load(HandoverItem, item_id)
    await _authorize_item(ledger, actor, item)
    return item


async def _authorize_item(ledger: Ledger, actor: Actor, item: HandoverItem) -> None:
    if may_read_item_alone(actor, item):
        return
    departure = await ledger.load(Departure, item.departure_id)
    if not may_read_departure(actor, departure):
        raise absent(item.id)


async def get_template(ledger: Ledger, template_id: UUID) -> Template:
    """Any authenticated principal may read checklists."""
    return await ledger.load(Template, template_id)


async def stream_entries(ledger: Ledger, actor: Actor, stream_id: UUID,
                         stream_type: str | None = None) -> list[Entry]:
    """A stream's verified entries (of ``stream_type``, if given), if its reader may see the
    aggregate. The stream is read once: the aggregate checked is replayed from these entries.
    """
    missing = NotFoundError(f"{stream_type or 'stream'} {stream_id} not found")
    entries = await ledger.entries(stream_id)
    if not entries or stream_type not in (None, entries[0].stream_type):
        raise missing
    if entries[0].stream_type in ("departure", "item"):
        aggregate = replay(entries)
        try:
            if isinstance(aggregate, Departure):
                _authorize_departure(actor, aggregate)
            elif isinstance(aggregate, HandoverItem):
                await _authorize_item(ledger, actor, aggregate)
        except NotFoundError:
            raise missing from None
    if entries[0].stream_type == "dispute":  # its parties and legal only
        dispute = replay(entries)
        try:
            if isinstance(dispute, Dispute):
                await authorize_dispute(ledger, actor, dispute)
        except NotFoundError:
            raise missing from None
    return entries


async def get_event(ledger: Ledger, actor: Actor, event_id: UUID) -> Entry:
    """One verified entry by event id, if its reader may see its stream."""
    stored = await ledger.store.find_event(event_id)
    if stored is None:
        raise NotFoundError("no such event")
    try:
        entries = await stream_entries(ledger, actor, stored.stream_id)
    except NotFoundError:
        raise NotFoundError("no such event") from None
    return next(e for e in entries if e.event_id == stored.event_id)


async def authorize_upload(ledger: Ledger, actor: Actor, item_id: UUID) -> HandoverItem:
    """Ask the upload's rule before the file is streamed, so a refused upload stores nothing
    (``evidence_cases.record_upload`` asks it again when recording)."""
    require_role(actor, UPLOADERS, "upload evidence")
    item = await ledger.load(HandoverItem, item_id)
    departure = await ledger.load(Departure, item.departure_id)
    require_uploader(actor, item, departure)
    require_open(departure)
    return item


async def statement_to_sign(ledger: Ledger, actor: Actor, item_id: UUID,
                            now: dt.datetime) -> str:
    """The confirmation statement the item's receiver (or one of its signers) would sign now
    (to whoever may not read the item, it is absent)."""
    item = await get_item(ledger, actor, item_id)
    if not any(slot in actor.acting_for() for slot in item.required_signers()):
        raise ForbiddenError(f"only the receiver ({item.receiver}) confirms item {item_id}"
                             if not item.signers else f"only its signers "
                             f"({', '.join(item.signers)}) confirm item {item_id}")
    if item.state != "submitted":
        raise InvalidTransitionError(f"item {item_id} is {item.state}, not submitted")
    return confirmation_statement(item, actor.id, now)


async def uploaded_evidence(ledger: Ledger, actor: Actor, item_id: UUID,
                            sha256: str) -> JSONObject:
    """The upload record (by, size, name, media type) of a file uploaded to the item, if its
    reader may see the item.

    "Not yours", "no such item", "not uploaded to this item" and "no such file" are one and the
    same NotFoundError, word for word, so the answer tells nobody whether the ledger holds a
    file with a given hash, or an item with a given id.
    """
    hidden = NotFoundError(f"item {item_id} has no evidence {sha256} you may read")
    try:
        item = await get_item(ledger, actor, item_id)
    except NotFoundError:  # absent, or not this reader's to see: the same answer
        raise hidden from None
    upload = item.uploads.get(sha256)
    if upload is None:
        raise hidden
    return upload


def organisation_today(ledger: Ledger) -> dt.date:
    """The organisation's date now, on its working calendar (overdue confirmations)."""
    return (ledger.calendar or default_calendar()).local_date(ledger.clock())
