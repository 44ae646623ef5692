"""Sign-in links written straight into a principal store, as HR issued them."""

from __future__ import annotations

import datetime as dt
import secrets

from ledger.sign_in_link import SignInLinkInfo, new_link_secret
from ledger.store.principal_port import PrincipalStore

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


async def issue_link(principals: PrincipalStore, principal_id: str = "zhao.min", *,
                     minutes: int = 30, at: dt.datetime = NOW,
                     departure: str = "d-1") -> tuple[bytes, SignInLinkInfo]:
    """A link hr.sun issued at ``at`` for ``principal_id`` and case ``departure``, living
    ``minutes``: its stored hash and its listing."""
    _, link_hash = new_link_secret()
    link = SignInLinkInfo(secrets.token_hex(8), principal_id, "hr.sun", "hr", at,
                          at + dt.timedelta(minutes=minutes), departure)
    await principals.add_sign_in_link(link_hash, link)
    return link_hash, link
