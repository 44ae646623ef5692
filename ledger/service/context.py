"""Who acts, and from where: recorded in every entry's ``actor`` and ``context``."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.actor import DEPARTMENT_ROLES, ROLES, Actor
from ledger.canonical import JSONObject

__all__ = ["DEPARTMENT_ROLES", "ROLES", "Actor", "RequestContext"]


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
