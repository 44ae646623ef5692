"""Web console sessions: who is signed in, acting in which role, since when.

A session's secret is 32 random bytes sent only in the ``hl_session`` cookie; the database
holds its SHA-256 (like bearer tokens, ledger.principals), so a dump of the table signs no one
in. The console's CSRF token is derived from the secret too (a different hash of it), so it is
per session, never stored, and not computable from the stored hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from ledger.principals import Principal

SESSION_METHODS = ("token", "link")  # how the session was started (recorded as auth=...)


@dataclass(frozen=True)
class ConsoleSession:
    """A live session: its principal (as stored now), the role it acts in, how it began,
    when, and the absolute end."""

    principal: Principal
    role: str
    method: str
    created_at: dt.datetime
    expires_at: dt.datetime


def new_session_secret() -> tuple[str, bytes]:
    """A fresh session secret (URL-safe text for the cookie) and the hash to store."""
    secret = secrets.token_urlsafe(32)
    return secret, hash_session_secret(secret)


def hash_session_secret(secret: str) -> bytes:
    """The stored form of a session secret."""
    return hashlib.sha256(b"hl-session:" + secret.encode("utf-8")).digest()


def csrf_token_for(secret: str) -> str:
    """The synchronizer token of the session (or pre-session) whose secret is ``secret``."""
    return hashlib.sha256(b"hl-csrf:" + secret.encode("utf-8")).hexdigest()
