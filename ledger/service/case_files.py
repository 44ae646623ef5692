"""Who may send a file that a case event cites, and what its form's fields must be, asked
before the file is streamed so that a refused request stores nothing (the use cases ask again
when recording); and the requests awaiting HR."""

from __future__ import annotations

from uuid import UUID

from ledger.aggregates.departure import Departure
from ledger.canonical import JSONObject
from ledger.errors import ForbiddenError, InvalidInputError, NotFoundError
from ledger.service.commands import RequestDeparture
from ledger.service.context import Actor
from ledger.service.departure_cases import require_not_leaver
from ledger.service.ledger import Ledger
from ledger.service.policy import HR, require_role
from ledger.service.queries import organisation_today
from ledger.service.relation import OVERSEERS, absent, may_read_departure
from ledger.service.request_cases import LEAVERS


def authorize_request(actor: Actor) -> None:
    """Only a leaver (an employee) requests their own departure with a letter."""
    require_role(actor, LEAVERS, "request a departure")


def precheck_request(ledger: Ledger, cmd: RequestDeparture) -> None:
    """What the request's use case would refuse of its fields, asked before the letter is
    stored (the use case asks again): an intended last day before the organisation's today."""
    if cmd.intended_last_working_day < organisation_today(ledger):
        raise InvalidInputError("the intended last working day has passed",
                                field="intended_last_working_day")


async def authorize_contract_document(ledger: Ledger, actor: Actor,
                                      departure_id: UUID) -> None:
    """Only HR, not the leaver, records a contract's termination on an existing case that
    may still take it (asked before the document is stored; the use case asks again)."""
    require_role(actor, HR, "record the contract's termination")
    departure = await ledger.load(Departure, departure_id)
    require_not_leaver(actor, departure)
    departure.require_contract_termination_recordable()


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


def may_read_case_files(actor: Actor, departure: Departure) -> bool:
    """Whether ``actor`` may download (and see the name and digest of) the resignation letter
    and the termination document ``departure`` cites: its leaver, HR, legal and auditors."""
    return may_read_departure(actor, departure) and (
        actor.role in OVERSEERS or actor.id == departure.leaver_id)


async def case_file(ledger: Ledger, actor: Actor, departure_id: UUID,
                    sha256: str) -> JSONObject:
    """The citation (sha256, size, name, media type) of a file the case's events recorded —
    the resignation letter, the termination document — for its leaver and HR, legal and
    auditors (personal papers: not the manager's or approvers'); to anyone else, and for a
    file the case does not cite, the same 404."""
    missing = absent(f"file {sha256} of departure {departure_id}")
    try:
        departure = await ledger.load(Departure, departure_id)
    except NotFoundError:
        raise missing from None  # the same words whether the case exists or not
    allowed = may_read_case_files(actor, departure)
    cited = [departure.request.get("letter") if departure.request else None,
             departure.contract_termination.get("document")
             if departure.contract_termination else None]
    for found in cited:
        if allowed and isinstance(found, dict) and found.get("sha256") == sha256:
            return found
    raise missing
