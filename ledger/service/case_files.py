"""Who may send a file that a case event cites, asked before the file is streamed so that a
refused request stores nothing (the use cases ask again when recording); and the requests
awaiting HR."""

from __future__ import annotations

from uuid import UUID

from ledger.aggregates.departure import Departure
from ledger.errors import ForbiddenError
from ledger.service.context import Actor
from ledger.service.departure_cases import require_not_leaver
from ledger.service.ledger import Ledger
from ledger.service.policy import HR, require_role
from ledger.service.request_cases import LEAVERS


def authorize_request(actor: Actor) -> None:
    """Only a leaver (an employee) requests their own departure with a letter."""
    require_role(actor, LEAVERS, "request a departure")


async def authorize_contract_document(ledger: Ledger, actor: Actor,
                                      departure_id: UUID) -> None:
    """Only HR, not the leaver, records a contract's termination on an existing case."""
    require_role(actor, HR, "record the contract's termination")
    require_not_leaver(actor, await ledger.load(Departure, departure_id))


async def list_requests(ledger: Ledger, actor: Actor) -> list[Departure]:
    """The requests awaiting HR, oldest first: every one for HR, a leaver's own for them.

    Scans every departure (through the aggregate cache), as the board does until its
    projection replaces it.
    """
    if actor.role not in ("hr", *LEAVERS):
        raise ForbiddenError(f"role {actor.role!r} may not list departure requests")
    found = []
    for departure_id in await ledger.store.stream_ids("departure"):
        departure = await ledger.load(Departure, departure_id)
        if departure.state == "requested" and (
                actor.role == "hr" or actor.id == departure.leaver_id):
            found.append(departure)
    return found
