"""Who acts: the roles a principal may act as, and the Actor recorded in every entry's ``actor``.

Below the service layer: the principal stores (ledger.principals) and the use cases both use it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.canonical import JSONObject

ROLES = ("hr", "employee", "it", "finance", "admin", "system", "legal", "auditor", "operator")
# Roles that work a department queue: a principal acting as ``it`` reviews ``dept:it`` items.
DEPARTMENT_ROLES = ("it", "finance", "admin")


@dataclass(frozen=True)
class Actor:
    """The authenticated principal and the role they act as (one of ROLES)."""

    id: str
    role: str
    name: str | None = None

    def acting_for(self) -> frozenset[str]:
        """Receivers this actor may review for: themself, and their department's queue."""
        queues = {f"dept:{self.role}"} if self.role in DEPARTMENT_ROLES else set()
        return frozenset({self.id, *queues})

    def as_json(self) -> JSONObject:
        """The ``actor`` object of an entry."""
        data: dict[str, str] = {"id": self.id, "role": self.role}
        if self.name:
            data["name"] = self.name
        return data
