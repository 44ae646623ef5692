"""Role checks. Relations (only this item's receiver confirms it) are the aggregates' own rules;
here the service decides which *roles* may attempt an action at all."""

from __future__ import annotations

from ledger.errors import ForbiddenError
from ledger.service.context import Actor

HR = ("hr",)
REVIEWERS = ("employee", "hr", "it", "finance", "admin")
# an item's giver may be a department queue (finance gives the final settlement), so
# its department's roles submit too; the aggregate decides who is the giver.
SUBMITTERS = ("employee", "hr", "it", "finance", "admin")
# External evidence comes from an item's department queue or from a system the checklist item
# names (HandoverItem.accepts_evidence_from decides which item takes which report).
EVIDENCE_SOURCES = ("system", "it", "finance", "admin")
# Who may decide an approval step (a manager acts as an employee); legal, auditors, IT and
# systems read cases but never approve them.
APPROVER_ROLES = ("employee", "hr")
# The ledger's own actor (installing the built-in checklists); principal ids cannot take the
# ``system:`` prefix, so nobody can authenticate as it.
LEDGER_ACTOR_ID = "system:ledger"


def require_role(actor: Actor, allowed: tuple[str, ...], action: str) -> None:
    """Raise ForbiddenError unless the actor acts in one of ``allowed`` roles."""
    if actor.role not in allowed:
        raise ForbiddenError(f"role {actor.role!r} may not {action}")


def require_template_author(actor: Actor) -> None:
    """Only HR defines or revises checklists (and the ledger itself, installing its own)."""
    if actor.role != "hr" and actor.id != LEDGER_ACTOR_ID:
        raise ForbiddenError(f"role {actor.role!r} may not define templates; only HR does")


def require_hr_or_manager(actor: Actor, manager_id: str, action: str) -> None:
    """HR, or the leaver's own manager (acting as an employee), may do this."""
    if actor.role == "hr" or (actor.role == "employee" and actor.id == manager_id):
        return
    raise ForbiddenError(f"only HR or the leaver's manager may {action}")
