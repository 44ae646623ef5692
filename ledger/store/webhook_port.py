"""The webhook storage port: subscriptions, the outbox and the delivery log, kept in the
ledger's own database (tables of the migrations; ``ledger.webhooks.repository`` holds the SQL,
written once with ``$1``-style parameters like the projection port's).

The outbox is filled by the "webhooks" projection inside its projection transaction
(``ledger.store.projection_port``); everything else (the admin API, the dispatcher) goes
through this port. ``transaction(serial=True)`` is taken by the dispatcher to claim
deliveries: one claim at a time across processes, so two dispatchers never deliver events of
one departure side by side.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol


class SqlTx(Protocol):
    """Statements inside one transaction (a ProjectionTx is one too)."""

    async def execute(self, sql: str, *args: object) -> None:
        """Run one statement."""

    async def fetch(self, sql: str, *args: object) -> list[Any]:
        """Rows of one query (each indexable by column name)."""


class WebhookStore(Protocol):
    """Transactions and reads on the webhook tables."""

    dialect: str  # "sqlite" or "postgres"

    def transaction(self, serial: bool = False) -> AbstractAsyncContextManager[SqlTx]:
        """A write transaction: commits when the block ends, else rolls back. ``serial``:
        no other serial transaction (in any process) runs meanwhile."""

    async def fetch(self, sql: str, *args: object) -> list[Any]:
        """Rows of one read query, outside any transaction."""
