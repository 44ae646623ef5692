"""The storage port of RFC 3161 timestamps over checkpoints (ledger.timestamp).

Table (both adapters): ``checkpoint_timestamps``, one row per (checkpoint size, authority URL):
the DER TimeStampResp exactly as the authority sent it (verified before it is stored), the
token's genTime, and when the store recorded it. Append-only by trigger, like ``checkpoints``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class StoredTimestamp:
    """A verified timestamp response over the signed note of checkpoint ``size``, from the
    authority at ``tsa_url``; ``gen_time`` is the token's own time (UTC). ``recorded_at``,
    when read back, is when the store recorded it."""

    size: int
    tsa_url: str
    gen_time: dt.datetime
    response: bytes
    recorded_at: dt.datetime | None = field(default=None, compare=False)


class TimestampStore(Protocol):
    """Where the timestamper keeps the tokens it obtained, and the log serves them from."""

    async def add(self, stamp: StoredTimestamp) -> bool:
        """Store ``stamp`` beside its checkpoint (which must be stored); False when one from
        that authority is already there (the first one stays)."""

    async def for_size(self, size: int) -> list[StoredTimestamp]:
        """The timestamps over checkpoint ``size``, oldest token first."""

    async def newest(self) -> StoredTimestamp | None:
        """A timestamp of the largest checkpoint that has one (its earliest token)."""
