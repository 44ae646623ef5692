"""People a case names, and separation of duties.

Everyone a case names (leaver, manager, HR owner, approvers, receivers, successor) must be a
known, active principal: a typo or a departed person's id would otherwise become a case that
nobody can act on, or one a later principal with that id inherits (ids are never reused, so
that cannot happen to a known id). Department queues (``dept:it``) are not principals.

With separation of duties on (``Settings.separation_of_duties``, the default): an approval
step's approver holds a role that may approve; the HR who starts a case is not its only
approver; only the case's HR owner (or the HR it was handed over to) waives its mandatory items
and closes it.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.aggregates.departure import Departure
from ledger.aggregates.item import DEPARTMENT_QUEUES
from ledger.errors import ForbiddenError, InvalidInputError, NotFoundError
from ledger.principals import Principal
from ledger.service.commands import ApprovalStep
from ledger.service.context import Actor
from ledger.service.policy import APPROVER_ROLES
from ledger.service.unit_of_work import UnitOfWork


async def require_named(uow: UnitOfWork, principal_id: str, field: str,
                        role: str | None = None) -> None:
    """Refuse (422 naming ``field``) an id that is no active principal, or, with ``role``, one
    that does not hold it. Department queues pass; without a directory nothing is checked."""
    if principal_id in DEPARTMENT_QUEUES:
        return
    principal = await _principal(uow, principal_id, field)
    if principal is None:
        return
    if not principal.active:
        raise InvalidInputError(f"{field}: {principal_id!r} is not an active principal",
                                field=field)
    if role is not None and role not in principal.roles:
        raise InvalidInputError(f"{field}: {principal_id!r} does not hold the {role} role",
                                field=field)


async def require_approvers(uow: UnitOfWork, starter: Actor,
                            chain: Sequence[ApprovalStep]) -> None:
    """Every approver is known and active; with separation of duties, each holds a role that
    may approve, and the starter is not the only one."""
    for n, step in enumerate(chain):
        field = f"approval_chain.{n}.approver_id"
        await require_named(uow, step.approver_id, field)
        if not uow.separation_of_duties:
            continue
        principal = await _principal(uow, step.approver_id, field)
        if principal is not None and not set(principal.roles) & set(APPROVER_ROLES):
            raise InvalidInputError(
                f"{field}: {step.approver_id!r} holds no role that may approve "
                f"({', '.join(APPROVER_ROLES)})", field=field)
    if uow.separation_of_duties and chain and {s.approver_id for s in chain} == {starter.id}:
        raise InvalidInputError("the HR who starts a departure cannot be its only approver",
                                field="approval_chain")


def require_approver_role(uow: UnitOfWork, actor: Actor) -> None:
    """With separation of duties, a step is decided only in a role that may approve."""
    if uow.separation_of_duties and actor.role not in APPROVER_ROLES:
        raise ForbiddenError(f"role {actor.role!r} may not decide approval steps")


def require_case_owner(uow: UnitOfWork, actor: Actor, departure: Departure,
                       action: str) -> None:
    """With separation of duties, only the case's HR owner does this (hand the case over
    with POST /v1/departures/{id}/hand-over)."""
    if uow.separation_of_duties and actor.id != departure.hr_owner_id:
        raise ForbiddenError(f"only the HR owner of departure {departure.id} "
                             f"({departure.hr_owner_id}) may {action}")


async def require_owner_or_owner_gone(uow: UnitOfWork, actor: Actor,
                                      departure: Departure) -> None:
    """Hand-over is the owner's act; but when the owner is no longer an active principal
    (they left too), any HR takes the case over, or it could never close."""
    if not uow.separation_of_duties or actor.id == departure.hr_owner_id:
        return
    if uow.directory is not None:
        try:
            owner = await uow.directory.get_principal(departure.hr_owner_id)
        except NotFoundError:
            return
        if not owner.active:
            return
    require_case_owner(uow, actor, departure, "hand it over")


async def _principal(uow: UnitOfWork, principal_id: str, field: str) -> Principal | None:
    if uow.directory is None:
        return None
    try:
        return await uow.directory.get_principal(principal_id)
    except NotFoundError:
        raise InvalidInputError(f"{field}: no principal {principal_id!r} is known",
                                field=field) from None
