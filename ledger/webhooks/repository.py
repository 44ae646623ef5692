"""The webhook tables' SQL, written once (``$1`` parameters; the SQLite adapters renumber
them). Times are RFC 3339 UTC text with microseconds (``ledger.entry.format_time``), so they
compare as text; flags are integers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.store.webhook_port import SqlTx, WebhookStore

SUBSCRIPTION_COLUMNS = ("id, url, format, event_types, description, active, from_index, "
                        "created_by, created_at, disabled_at, disabled_reason, previous_until")
DELIVERY_COLUMNS = ("id, subscription_id, event_id, event_type, log_index, ordering_key, "
                    "status, attempts, failures, next_attempt_at, last_status, last_error, "
                    "created_at, delivered_at")

_ONE_SUBSCRIPTION = f"SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE id = $1"  # noqa: S608
_ALL_SUBSCRIPTIONS = (f"SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions "  # noqa: S608
                      "ORDER BY created_at, id")
_ONE_DELIVERY = f"SELECT {DELIVERY_COLUMNS}, leased_until FROM webhook_outbox WHERE id = $1"  # noqa: S608
INSERT_SUBSCRIPTION = (
    "INSERT INTO webhook_subscriptions (id, url, format, event_types, description, secret, "
    "active, from_index, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $9)")
ACTIVE_SUBSCRIPTIONS = ("SELECT id, format, event_types, from_index FROM webhook_subscriptions "
                        "WHERE active = 1 ORDER BY id")
INSERT_OUTBOX = (
    "INSERT INTO webhook_outbox (id, subscription_id, event_id, event_type, log_index, "
    "ordering_key, body, status, next_attempt_at, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8) ON CONFLICT DO NOTHING")
LOG_SIZE = "SELECT coalesce(max(idx) + 1, 0) AS n FROM log_entries"
FIRST_ENTRY = "SELECT entry FROM events WHERE stream_id = $1 AND version = 1"

# The head of each (subscription, departure) queue that is due and not in flight: a later
# event of a departure waits while an earlier one is pending (in order per departure).
_CLAIMABLE = """
SELECT o.id, o.subscription_id, o.body, o.attempts, o.failures, s.url, s.format, s.secret,
       s.previous_secret, s.previous_until
FROM webhook_outbox o JOIN webhook_subscriptions s ON s.id = o.subscription_id
WHERE o.status = 'pending' AND s.active = 1 AND o.next_attempt_at <= $1
  AND (o.leased_until IS NULL OR o.leased_until <= $1)
  AND NOT EXISTS (SELECT 1 FROM webhook_outbox e WHERE e.subscription_id = o.subscription_id
                  AND e.ordering_key = o.ordering_key AND e.status = 'pending'
                  AND e.log_index < o.log_index)
ORDER BY o.next_attempt_at, o.log_index LIMIT $2
"""


async def subscription(db: WebhookStore | SqlTx, subscription_id: str) -> dict[str, Any] | None:
    """One subscription's public columns, or None."""
    rows = await db.fetch(_ONE_SUBSCRIPTION, subscription_id)
    return rows[0] if rows else None


async def subscriptions(db: WebhookStore) -> list[dict[str, Any]]:
    """Every subscription's public columns, oldest first."""
    return await db.fetch(_ALL_SUBSCRIPTIONS)


async def rotate(tx: SqlTx, subscription_id: str, secret: str, previous_until: str) -> None:
    """Make ``secret`` current; the one it replaces stays in force until ``previous_until``."""
    await tx.execute("UPDATE webhook_subscriptions SET previous_secret = secret, secret = $1, "
                     "previous_until = $2 WHERE id = $3", secret, previous_until,
                     subscription_id)


async def disable(tx: SqlTx, subscription_id: str, at: str, reason: str) -> None:
    """Stop queueing and delivering to a subscription."""
    await tx.execute("UPDATE webhook_subscriptions SET active = 0, disabled_at = $1, "
                     "disabled_reason = $2 WHERE id = $3 AND active = 1", at, reason,
                     subscription_id)


async def claim(tx: SqlTx, now: str, lease_until: str, limit: int) -> list[dict[str, Any]]:
    """Claim up to ``limit`` due deliveries, each leased until ``lease_until`` (precondition:
    a serial transaction)."""
    rows = await tx.fetch(_CLAIMABLE, now, limit)
    for row in rows:
        await tx.execute("UPDATE webhook_outbox SET leased_until = $1 WHERE id = $2",
                         lease_until, row["id"])
    return rows


async def record_attempt(tx: SqlTx, delivery_id: str, attempt: int, at: str,
                         status_code: int | None, duration_ms: int, outcome: str,
                         error: str | None) -> None:
    """One line of the delivery log."""
    await tx.execute("INSERT INTO webhook_attempts (outbox_id, attempt, at, status_code, "
                     "duration_ms, outcome, error) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                     delivery_id, attempt, at, status_code, duration_ms, outcome, error)


async def mark_delivered(tx: SqlTx, delivery_id: str, at: str, status_code: int | None) -> None:
    """A delivery the receiver took."""
    await tx.execute("UPDATE webhook_outbox SET status = 'delivered', attempts = attempts + 1, "
                     "failures = 0, leased_until = NULL, delivered_at = $1, last_status = $2, "
                     "last_error = NULL WHERE id = $3", at, status_code, delivery_id)


async def hasten(tx: SqlTx, subscription_id: str, now: str) -> None:
    """A receiver that took a delivery is back: its deliveries backing off after it was
    unreachable or failing (no answer, or a 5xx; the heads of their departures' queues) are
    due at ``now`` instead of at their back-off's end. Those it refused with a 4xx (a 429's
    rate limit, a body it rejects) keep their wait; failures still count toward a dead
    letter either way."""
    await tx.execute("UPDATE webhook_outbox SET next_attempt_at = $1 WHERE subscription_id = $2 "
                     "AND status = 'pending' AND failures > 0 AND next_attempt_at > $1 "
                     "AND (last_status IS NULL OR last_status >= 500)", now, subscription_id)


async def mark_failed(tx: SqlTx, delivery_id: str, status: str, next_attempt_at: str,
                      status_code: int | None, error: str) -> None:
    """A failed attempt: retried at ``next_attempt_at``, or a dead letter (``status``)."""
    await tx.execute("UPDATE webhook_outbox SET status = $1, attempts = attempts + 1, "
                     "failures = failures + 1, leased_until = NULL, next_attempt_at = $2, "
                     "last_status = $3, last_error = $4 WHERE id = $5", status,
                     next_attempt_at, status_code, error, delivery_id)


async def deliveries(db: WebhookStore, where: str, args: Sequence[object], limit: int,
                     offset: int) -> list[dict[str, Any]]:
    """Deliveries matching ``where`` (a fixed condition over ``$1``.. of ``args``), oldest
    event first."""
    n = len(args)
    return await db.fetch(f"SELECT {DELIVERY_COLUMNS} FROM webhook_outbox WHERE {where} "  # noqa: S608 - fixed conditions
                          f"ORDER BY log_index, subscription_id LIMIT ${n + 1} OFFSET ${n + 2}",
                          *args, limit, offset)


async def delivery(db: WebhookStore | SqlTx, delivery_id: str) -> dict[str, Any] | None:
    """One delivery, or None."""
    rows = await db.fetch(_ONE_DELIVERY, delivery_id)
    return rows[0] if rows else None


async def attempts(db: WebhookStore, delivery_id: str) -> list[dict[str, Any]]:
    """A delivery's log, attempt by attempt."""
    return await db.fetch("SELECT attempt, at, status_code, duration_ms, outcome, error "
                          "FROM webhook_attempts WHERE outbox_id = $1 ORDER BY attempt",
                          delivery_id)


async def redeliver(tx: SqlTx, delivery_id: str, now: str) -> None:
    """Queue a delivery again, due now, with its failures forgotten."""
    await tx.execute("UPDATE webhook_outbox SET status = 'pending', failures = 0, "
                     "next_attempt_at = $1, leased_until = NULL WHERE id = $2", now,
                     delivery_id)
