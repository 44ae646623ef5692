"""The board read model as an index of who takes part in which case (the CaseIndex that
sign-in links are authorized with, ledger.service.sign_in_link_cases).

It finds cases by their leaver, manager, and items' givers and receivers; approvers, signers
and successors are found when the case is named (the issuer passes its ``departure_id``). The
board follows the log, so a case started a moment ago may be missing here for a moment; each
case found is checked again on the ledger by the use case.
"""

from __future__ import annotations

from uuid import UUID

from ledger.projections.board import NAME, tables
from ledger.store.projection_port import ProjectionStore

MAX_CASES = 10


class BoardCaseIndex:
    """Cases someone takes part in, from the board's current generation."""

    def __init__(self, store: ProjectionStore) -> None:
        self.store = store

    async def cases_naming(self, principal_id: str, hr_owner_id: str | None) -> list[UUID]:
        """Up to MAX_CASES departures naming ``principal_id``, run by ``hr_owner_id`` (by
        anyone when None), most recently started first."""
        rows = await self.store.fetch("SELECT generation FROM projection_state WHERE name = $1",
                                      NAME)
        t = tables(int(rows[0]["generation"]) if rows else 1)
        owner = "d.hr_owner_id = $2 AND " if hr_owner_id is not None else ""
        found = await self.store.fetch(
            f"SELECT d.departure_id FROM {t['departures']} d WHERE {owner}"
            "(d.leaver_id = $1 OR d.manager_id = $1 OR d.departure_id IN "
            f"(SELECT i.departure_id FROM {t['items']} i WHERE i.giver_id = $1 "
            f"OR i.receiver = $1)) ORDER BY d.started_at DESC, d.departure_id LIMIT {MAX_CASES}",
            *([principal_id, hr_owner_id] if hr_owner_id is not None else [principal_id]))
        return [UUID(str(r["departure_id"])) for r in found]
