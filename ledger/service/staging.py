"""What the commands of one batch share before it commits: the aggregates as the earlier
commands left them.

A batch decides its commands one after another, each on the state the earlier ones left (as if
each had committed), and appends them all at the end (``ledger.service.batch``). So a later
command must read an aggregate from the batch's staging, never from the cache or the store,
which hold only what is committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.errors import ConflictError


@dataclass
class Staged:
    """One aggregate as the batch's commands so far left it: the state (never handed out
    itself: each command gets a clone), the hash its next event chains onto, the committed
    version it was first loaded at (0: created by the batch), whether the batch appends to
    it, and whether that committed state came from the cache unverified (``trusted``)."""

    aggregate: Aggregate
    last_hash: bytes | None
    base_version: int
    written: bool
    trusted: bool


Staging = dict[UUID, Staged]


class StaleStagingError(ConflictError):
    """A command re-deciding on fresh state found that a stream the batch had staged from the
    cache has moved in the store: every decision of the batch built on it is void, so the
    batch runs its commands one by one instead (never seen outside the batch)."""
