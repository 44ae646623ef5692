"""Role checks. Relations (only this item's receiver confirms it) are the aggregates' own rules;
here the service decides which *roles* may attempt an action at all."""

from __future__ import annotations

from ledger.errors import ForbiddenError
from ledger.service.context import Actor

HR = ("hr",)
REVIEWERS = ("employee", "hr", "it", "finance", "admin")
SYSTEMS = ("system", "it", "finance", "admin", "hr")


def require_role(actor: Actor, allowed: tuple[str, ...], action: str) -> None:
    """Raise ForbiddenError unless the actor acts in one of ``allowed`` roles."""
    if actor.role not in allowed:
        raise ForbiddenError(f"role {actor.role!r} may not {action}")


def require_hr_or_manager(actor: Actor, manager_id: str, action: str) -> None:
    """HR, or the leaver's own manager (acting as an employee), may do this."""
    if actor.role == "hr" or (actor.role == "employee" and actor.id == manager_id):
        return
    raise ForbiddenError(f"only HR or the leaver's manager may {action}")
