"""The console's navigation: which pages each role sees in base.html's menu. A page area adds
its links to NAV (its label marked with N_ so the catalogue test finds it)."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.actor import ROLES
from ledger.service.context import Actor
from web.i18n import N_


@dataclass(frozen=True)
class NavLink:
    """A menu entry: where, its label (an English msgid), and the roles that see it."""

    path: str
    label: str
    roles: tuple[str, ...]


NAV: list[NavLink] = [
    NavLink("/console/", N_("Home"), ROLES),
    NavLink("/console/tasks", N_("My tasks"), ROLES),
    NavLink("/console/queues/it", N_("IT queue"), ("it", "hr")),
    NavLink("/console/queues/finance", N_("Finance queue"), ("finance", "hr")),
    NavLink("/console/queues/admin", N_("Administration queue"), ("admin", "hr")),
    NavLink("/console/reports", N_("Reports"), ("hr", "legal", "auditor")),
    NavLink("/console/verify", N_("Verify"), ROLES),
]


def links_for(actor: Actor | None) -> list[NavLink]:
    """The menu of ``actor`` (nothing before sign-in)."""
    if actor is None:
        return []
    return [link for link in NAV if actor.role in link.roles]
