"""How many live feeds (SSE: a case's board, HR's dashboard) one console session may hold
open at once in a process: a few tabs, not a hundred connections kept busy by one person;
one more is answered 429 with Retry-After."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from aiohttp import web

from ledger.errors import RateLimitedError
from ledger.sessions import hash_session_secret
from web.keys import SECRET

# How many live feeds one session may hold open in this process (a few tabs); one more: 429.
MAX_LIVE_PER_SESSION = 4
_live: dict[bytes, int] = {}


@contextlib.contextmanager
def live_slot(request: web.Request) -> Iterator[None]:
    """One of the session's MAX_LIVE_PER_SESSION live feeds, for as long as it streams."""
    key = hash_session_secret(request[SECRET])
    if _live.get(key, 0) >= MAX_LIVE_PER_SESSION:
        raise RateLimitedError("too many live feeds open for this session; close a tab",
                               retry_after=30)
    _live[key] = _live.get(key, 0) + 1
    try:
        yield
    finally:
        _live[key] -= 1
        if not _live[key]:
            del _live[key]
