"""Storage of web console sessions (ledger.sessions): one contract, two adapters, in the
same database as the principals, so every process of a deployment shares them."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from ledger.sessions import ConsoleSession


def touch_granularity(idle: dt.timedelta) -> dt.timedelta:
    """How stale a session's last-seen time may get before a request rewrites it: most
    requests then only read (a write per page view would cost more than the page), and a
    session lasts at most this much longer than ``idle`` after its last request."""
    return min(dt.timedelta(seconds=60), idle / 10)


class SessionStore(Protocol):
    """What the console's sign-in, each request and sign-out need."""

    async def add_session(self, session_hash: bytes, principal_id: str, role: str,
                          method: str, now: dt.datetime, expires_at: dt.datetime,
                          token_hash: bytes | None = None) -> None:
        """Store a new session (last seen ``now``), started with the token whose hash is
        ``token_hash`` (None: by a one-time link); sessions ended before ``now`` are deleted
        on the way. NotFoundError if the principal is unknown."""

    async def touch_session(self, session_hash: bytes, now: dt.datetime,
                            idle: dt.timedelta, *, touch: bool = True) -> ConsoleSession | None:
        """The session with this hash if it is live at ``now`` (seen within ``idle``, before
        its absolute expiry, its principal active and still holding the role, the token it
        was started with neither revoked nor expired), marking it seen at ``now`` when its
        last-seen time is older than touch_granularity(idle) (never with ``touch`` False: a
        live feed checks a session without keeping it alive); None otherwise."""

    async def set_role(self, session_hash: bytes, role: str) -> bool:
        """Change the role a session acts in; False if there is no such session."""

    async def delete_session(self, session_hash: bytes) -> bool:
        """End a session; False if there was none."""

    async def delete_sessions_of(self, principal_id: str) -> int:
        """End every session of a principal; return how many."""
