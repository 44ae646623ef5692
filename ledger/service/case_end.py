"""What a case's end (withdrawn or closed) undoes outside the ledger: the one-time sign-in
links HR sent its parties for it. A link is sent only for a case that is approved or handing
over (ledger.service.sign_in_link_cases); once the case is over nobody needs one, and an
unused link must not open a session on a finished case. Each revocation is recorded in the
principal's history (``sign_in_link_revoked``, by whoever ended the case), as HR's own are."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from ledger.errors import LedgerError
from ledger.service.context import Actor
from ledger.store.port import NewEvent

ENDING_EVENTS = frozenset({"DepartureWithdrawn", "DepartureClosed"})
log = logging.getLogger(__name__)


class CaseLinks(Protocol):
    """Where the sign-in links sent for a case are kept (the principal store)."""

    async def revoke_case_sign_in_links(self, departure_id: str, by: Actor) -> list[str]:
        """Revoke the case's unused links, recording each; the link ids revoked."""


def ended_cases(events: Sequence[NewEvent]) -> list[str]:
    """The departures that ``events`` (one command's, committed) withdraw or close."""
    return [str(e.stream_id) for e in events
            if e.stream_type == "departure" and e.event_type in ENDING_EVENTS]


async def revoke_links_of_ended_cases(links: CaseLinks, events: Sequence[NewEvent],
                                      by: Actor) -> list[str]:
    """Revoke the unused sign-in links of every case ``events`` ended (after they committed:
    a refused close revokes nothing); the link ids revoked. A store failure is logged, not
    raised: the case's end is committed and answered either way."""
    revoked: list[str] = []
    for departure_id in ended_cases(events):
        try:
            revoked += await links.revoke_case_sign_in_links(departure_id, by)
        except LedgerError:
            log.exception("could not revoke the sign-in links of departure %s", departure_id)
    return revoked
