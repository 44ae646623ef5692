"""Signing a case's handover confirmation (交接确认书) before closing it, as every test that
closes a case must (LEDGER_CLOSE_REQUIRES_CONFIRMATION defaults to required)."""

from __future__ import annotations

import uuid

from ledger.aggregates.departure import Departure
from ledger.aggregates.item import HandoverItem
from ledger.service import commands as c
from ledger.service.context import Actor
from ledger.service.handover_statement import confirmation_due
from ledger.service.ledger import Ledger
from tests.integration.http_fixtures import Api


async def sign_confirmation(ledger: Ledger, departure_id: uuid.UUID | str) -> list[str]:
    """Every signatory who has not yet signed the statement as it stands signs it with their
    token (through ``Ledger.execute``); returns who signed."""
    departure = await ledger.load(Departure, departure_id)
    items = [await ledger.load(HandoverItem, i) for i in departure.item_ids]
    _, due = confirmation_due(departure, items)
    signers = departure.unsigned(due)
    for who in signers:
        await ledger.execute(c.SignHandoverConfirmation(
            departure_id=uuid.UUID(str(departure_id)), statement_sha256=due.sha256),
            Actor(who, "employee"))
    return signers


async def sign_confirmation_over_http(api: Api, departure_id: uuid.UUID | str,
                                      reader: str = "hr.sun") -> list[str]:
    """The same through the HTTP API: fetch the statement as ``reader``, then each unsigned
    signatory posts its digest."""
    got = await api.get(f"/v1/departures/{departure_id}/confirmation", reader)
    assert got.status == 200, got.body[:300]
    statement = got.json()
    for who in statement["unsigned"]:
        signed = await api.post(f"/v1/departures/{departure_id}/confirmation/signatures", who,
                                json={"statement_sha256": statement["sha256"]})
        assert signed.status == 201, signed.body[:300]
    return list(statement["unsigned"])
