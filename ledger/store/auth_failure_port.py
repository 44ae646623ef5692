"""Storage of failed authentications (api.ratelimit): one contract, two adapters, in the
ledger's own database, so every process of a deployment counts against one limit."""

from __future__ import annotations

from typing import Protocol


class AuthFailureStore(Protocol):
    """Failures counted per client key (an IPv4 address or an IPv6 /64, never a secret),
    each at a wall-clock time in seconds since the epoch."""

    async def recent_failures(self, client: str, since: float, limit: int) -> list[float]:
        """The times of the ``limit`` most recent failures counted under ``client`` later
        than ``since``, newest first (fewer when there are fewer)."""

    async def add_failure(self, client: str, at: float, forget_before: float) -> None:
        """Count one failure under ``client`` at ``at``; failures of every client at or
        before ``forget_before`` are deleted on the way (the table only holds live windows)."""
