"""One-time sign-in links (ledger.sign_in_link): who may send one to whom, and spending one.

Who may issue a principal's links, and list or revoke them:
- an operator, for any principal (they issue whole tokens already; a link is less);
- HR, for someone who takes part in a case that HR runs: its leaver, manager, approvers or
  successor, or an item's giver, receiver or signer. "Runs": with separation of duties (the
  default) only the case's HR owner, as for waiving and closing; with it off, any HR;
- the principal itself lists its own links.
The case must have left draft: approved by its approval chain, or handing over (LINKED_STATES),
read on the ledger itself. A draft is HR's alone to write (any leaver may be named in it), so
citing one would let HR sign in as anyone unprivileged; a withdrawn or closed case needs no one.
A link is never issued for a principal holding a privileged role (PRIVILEGED_ROLES), so it can
never open more than a leaver's or a receiver's access, whoever follows it.

Refusals: a role that may not issue is refused (403) before any lookup; HR asking about someone
in no case HR runs gets the answer for an absent principal (404), as does anyone asking about a
case they cannot see. A link that is unknown, used, revoked or expired is refused in the same
words whichever it is, so a guesser learns nothing.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from ledger.aggregates.departure import OPEN_FOR_ITEMS, Departure
from ledger.aggregates.item import HandoverItem
from ledger.errors import ForbiddenError, InvalidInputError, NotFoundError, UnauthenticatedError
from ledger.principals import Principal
from ledger.service.context import Actor, RequestContext
from ledger.service.ledger import Ledger
from ledger.service.policy import require_role
from ledger.service.relation import absent
from ledger.sign_in_link import (
    DEFAULT_LINK_TTL,
    MAX_LINK_TTL,
    SignInLinkInfo,
    hash_link_secret,
    new_link_secret,
    plausible_link_secret,
    privileged_roles,
)
from ledger.store.principal_port import PrincipalStore

ISSUERS = ("hr", "operator")
REFUSED = "unknown, used, revoked or expired sign-in link"
LINK_ID_LENGTH = 16
# The states of a case a link may be sent for: approved by its chain, or handing over.
LINKED_STATES = OPEN_FOR_ITEMS


class CaseIndex(Protocol):
    """Where to look for the cases someone takes part in (a read model: it may lag, so every
    case it names is checked again on the ledger itself)."""

    async def cases_naming(self, principal_id: str, hr_owner_id: str | None) -> list[UUID]:
        """A few departures ``principal_id`` takes part in, run by ``hr_owner_id`` (by
        anyone when None), most recent first."""


@dataclass(frozen=True)
class Reach:
    """What HR's relation to a principal is decided on: the ledger, and an index of cases."""

    ledger: Ledger
    cases: CaseIndex


@dataclass(frozen=True)
class Lifetime:
    """A link's lifetime unless its issuer asks otherwise, and the most they may ask."""

    default: dt.timedelta = DEFAULT_LINK_TTL
    most: dt.timedelta = MAX_LINK_TTL


async def takes_part(ledger: Ledger, departure: Departure, principal_id: str) -> bool:
    """Whether ``principal_id`` is named in ``departure`` other than as its HR owner."""
    named = {departure.leaver_id, departure.manager_id, departure.successor_id,
             *(str(step["approver_id"]) for step in departure.approval_chain)}
    if principal_id in named:
        return True
    for item_id in departure.item_ids:
        item = await ledger.load(HandoverItem, item_id)
        if principal_id in (item.giver_id, item.receiver, *item.signers):
            return True
    return False


def runs_case(ledger: Ledger, actor: Actor, departure: Departure) -> bool:
    """Whether ``actor`` runs ``departure`` as far as links go: its HR owner (with
    separation of duties), any HR (without)."""
    return actor.role == "hr" and (not ledger.separation_of_duties
                                   or actor.id == departure.hr_owner_id)


def may_send_for(ledger: Ledger, actor: Actor, departure: Departure) -> bool:
    """Whether ``actor`` may send links for ``departure`` now (to those taking part in it):
    HR who runs it, once it has left draft and approval and until it ends (LINKED_STATES).
    What a page offers; ``issue_sign_in_link`` decides again."""
    return runs_case(ledger, actor, departure) and departure.state in LINKED_STATES


async def _case_of(reach: Reach | None, actor: Actor, principal_id: str,
                   departure_id: UUID | None) -> str:
    """The case (run by ``actor``) that ``principal_id`` takes part in; else, as absent."""
    if departure_id is not None:
        if reach is None or actor.role != "hr":
            raise absent(departure_id)  # operators do not read cases
        departure = await reach.ledger.load(Departure, departure_id)
        if not runs_case(reach.ledger, actor, departure):
            raise absent(departure_id)
        if not await takes_part(reach.ledger, departure, principal_id):
            raise InvalidInputError(f"{principal_id} takes no part in departure "
                                    f"{departure_id}", field="departure_id")
        if departure.state not in LINKED_STATES:
            raise InvalidInputError(f"departure {departure_id} is {departure.state}: a link "
                                    f"is sent only for a case that is approved or handing "
                                    f"over", field="departure_id")
        return str(departure_id)
    if reach is not None and actor.role == "hr":
        owner = actor.id if reach.ledger.separation_of_duties else None
        for candidate in await reach.cases.cases_naming(principal_id, owner):
            departure = await reach.ledger.load(Departure, candidate)
            if (runs_case(reach.ledger, actor, departure) and departure.state in LINKED_STATES
                    and await takes_part(reach.ledger, departure, principal_id)):
                return str(candidate)
    raise NotFoundError(f"principal {principal_id!r} not found")


async def _authorize(principals: PrincipalStore, reach: Reach | None, actor: Actor,
                     principal_id: str, departure_id: UUID | None) -> tuple[Principal,
                                                                            str | None]:
    """The principal a link is asked for, and the case that allows it (None: an operator)."""
    require_role(actor, ISSUERS, "send sign-in links")
    case = None
    if actor.role == "hr" or departure_id is not None:
        case = await _case_of(reach, actor, principal_id, departure_id)
    return await principals.get_principal(principal_id), case


async def issue_sign_in_link(principals: PrincipalStore, actor: Actor, principal_id: str, *,
                             reach: Reach | None = None, departure_id: UUID | None = None,
                             expires_in: dt.timedelta | None = None,
                             lifetime: Lifetime = Lifetime(),
                             now: dt.datetime | None = None) -> tuple[str, SignInLinkInfo]:
    """Issue a one-time sign-in link for an active, unprivileged principal; returns its
    secret (once; only its hash is stored) and what the listing shows. ``departure_id`` names
    the case it is sent for (HR: else one of theirs is found)."""
    if expires_in is not None and not dt.timedelta(0) < expires_in <= lifetime.most:
        raise InvalidInputError(f"a sign-in link's lifetime must be more than 0 and at most "
                                f"{int(lifetime.most.total_seconds()) // 60} minutes "
                                "(LEDGER_SIGN_IN_LINK_MAX_MINUTES)",
                                field="expires_in_minutes")
    principal, case = await _authorize(principals, reach, actor, principal_id, departure_id)
    if refused := privileged_roles(principal.roles):
        raise ForbiddenError(f"no sign-in link for a principal holding the role(s) "
                             f"{', '.join(refused)}: they sign in with their own token")
    if not principal.active:
        raise InvalidInputError(f"principal {principal_id!r} is deactivated",
                                field="principal_id")
    moment = now or dt.datetime.now(dt.UTC)
    secret, link_hash = new_link_secret()
    link = SignInLinkInfo(secrets.token_hex(LINK_ID_LENGTH // 2), principal.id, actor.id,
                          actor.role, moment, moment + (expires_in or lifetime.default), case)
    await principals.add_sign_in_link(link_hash, link)
    return secret, link


async def list_sign_in_links(principals: PrincipalStore, actor: Actor, principal_id: str, *,
                             reach: Reach | None = None) -> list[SignInLinkInfo]:
    """A principal's links (never their secrets): for the principal, or whoever may issue
    them one."""
    if actor.id != principal_id:
        await _authorize(principals, reach, actor, principal_id, None)
    await principals.get_principal(principal_id)
    return await principals.list_sign_in_links(principal_id)


async def revoke_sign_in_link(principals: PrincipalStore, actor: Actor, principal_id: str,
                              link_id: str, *, reach: Reach | None = None) -> bool:
    """Revoke an unused link (whoever may issue the principal one); False if it was already
    used or revoked."""
    await _authorize(principals, reach, actor, principal_id, None)
    if len(link_id) != LINK_ID_LENGTH or not all(c in "0123456789abcdef" for c in link_id):
        raise NotFoundError(f"principal {principal_id!r} has no sign-in link {link_id!r}")
    return await principals.revoke_sign_in_link(principal_id, link_id, actor)


async def redeem_sign_in_link(principals: PrincipalStore, secret: str,
                              context: RequestContext, *,
                              now: dt.datetime | None = None) -> Principal:
    """Spend a link: its principal, to start a session for (auth "link"), recording when and
    from which IP and user agent. UnauthenticatedError, in the same words, for a link that is
    unknown, used, revoked or expired, or whose principal was deactivated."""
    if not plausible_link_secret(secret):
        raise UnauthenticatedError(REFUSED)
    principal = await principals.redeem_sign_in_link(
        hash_link_secret(secret), now or dt.datetime.now(dt.UTC), context.ip,
        context.user_agent)
    # Roles are checked again: a link never opens a privileged role, however it was issued.
    if principal is None or privileged_roles(principal.roles):
        raise UnauthenticatedError(REFUSED)
    return principal
