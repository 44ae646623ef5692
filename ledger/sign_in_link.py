"""One-time sign-in links: what HR sends a leaver (often remote, on a phone) instead of a token.

A link carries a random 256-bit secret (``hll_``: recognisable by secret scanners, and never
taken for a bearer token's ``hl_``) in its path; only the secret's SHA-256 is stored, so a
database dump holds no usable link. A link is short-lived (LEDGER_SIGN_IN_LINK_MINUTES, 30 by
default, never more than MAX_LINK_TTL) and is spent by its first redemption: the store marks it
used, with the client's IP and user agent, in the same statement that finds it, so of two
concurrent redemptions exactly one wins.

A link never escalates: it is not issued for a principal holding any of PRIVILEGED_ROLES (those
who run cases, read all of them, work a department's queue across cases, administer the ledger
or are systems). Whoever issues a link could follow it themself, so a link must never open more
than a leaver's or a receiver's access: people with more power sign in with their own tokens.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

LINK_PREFIX = "hll_"
DEFAULT_LINK_TTL = dt.timedelta(minutes=30)
MAX_LINK_TTL = dt.timedelta(hours=24)
# hr, legal and auditors read every case; the department roles (it, finance, admin) work their
# queue across every case; operators administer; systems are not people.
PRIVILEGED_ROLES = ("hr", "legal", "it", "finance", "admin", "operator", "auditor", "system")
LINK_PATH = "/console/sign-in/link/"
MAX_SECRET_LENGTH = 100


@dataclass(frozen=True)
class SignInLinkInfo:
    """A sign-in link as it is listed: never its secret, never its hash."""

    link_id: str
    principal_id: str
    issued_by: str
    issued_role: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    departure_id: str | None = None
    used_at: dt.datetime | None = None
    used_ip: str | None = None
    used_user_agent: str | None = None
    revoked: bool = False

    def state_at(self, now: dt.datetime) -> str:
        """``used``, ``revoked``, ``expired`` or ``unused`` (still redeemable) at ``now``."""
        if self.used_at is not None:
            return "used"
        if self.revoked:
            return "revoked"
        return "expired" if now >= self.expires_at else "unused"


def new_link_secret() -> tuple[str, bytes]:
    """A fresh link secret and the hash to store for it."""
    secret = LINK_PREFIX + secrets.token_urlsafe(32)
    return secret, hash_link_secret(secret)


def hash_link_secret(secret: str) -> bytes:
    """The stored form of a link secret."""
    return hashlib.sha256(secret.encode("utf-8")).digest()


def plausible_link_secret(secret: str) -> bool:
    """Whether ``secret`` could be one of ours (anything else is refused unread)."""
    return (secret.startswith(LINK_PREFIX) and len(secret) <= MAX_SECRET_LENGTH
            and secret.isascii() and secret.isprintable())


def privileged_roles(roles: tuple[str, ...]) -> list[str]:
    """Which of ``roles`` a sign-in link may never carry."""
    return [r for r in roles if r in PRIVILEGED_ROLES]


def sign_in_link_url(base_url: str, secret: str) -> str:
    """The address the link's holder opens: the console's page for it under ``base_url``."""
    return base_url.rstrip("/") + LINK_PATH + secret
