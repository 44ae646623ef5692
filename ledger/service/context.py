"""Who acts, and from where: recorded in every entry's ``actor`` and ``context``."""

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


@dataclass(frozen=True)
class RequestContext:
    """Where a command came from (request id, client IP, user agent, authentication method)."""

    request_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    auth: str | None = None

    def as_json(self) -> JSONObject:
        """The ``context`` object of an entry."""
        return {"request_id": self.request_id, "ip": self.ip,
                "user_agent": self.user_agent, "auth": self.auth}
