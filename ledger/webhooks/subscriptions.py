"""Managing webhooks (use cases): operators create, list, rotate and disable subscriptions,
read the delivery log and dead letters, and redeliver. Nobody else sees any of it.

A subscription's secret is shown once, when it is created or rotated, and never again; it is
stored because the dispatcher needs it to sign (an HMAC key cannot be kept as a hash). After a
rotation the previous secret keeps signing beside the new one for the grace period, so a
receiver can switch without losing a message.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from ledger.aggregates.codec import EVENT_CLASSES
from ledger.entry import format_time
from ledger.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from ledger.service.context import Actor
from ledger.store.projection_port import ProjectionStore
from ledger.store.webhook_port import WebhookStore
from ledger.webhooks import repository as repo
from ledger.webhooks.destination import check_url
from ledger.webhooks.formats import FORMATS, REMINDER_EVENTS, ROBOT_FORMATS
from ledger.webhooks.outbox import NAME
from ledger.webhooks.settings import WebhookSettings
from ledger.webhooks.signing import generate_secret

STATUSES = ("pending", "delivered", "dead")
MAX_EVENT_TYPES = 50


@dataclass(frozen=True)
class NewSubscription:
    """What an operator asks for (validated here, whatever the entry point)."""

    url: str
    event_types: list[str]
    format: str = "json"
    description: str = ""
    robot_secret: str | None = None  # DingTalk's or Feishu's own signing secret


def require_operator(actor: Actor) -> None:
    """Only operators manage webhooks."""
    if actor.role != "operator":
        raise ForbiddenError("only an operator manages webhooks")


def _check(new: NewSubscription, settings: WebhookSettings) -> None:
    if new.format not in FORMATS:
        raise InvalidInputError(f"format must be one of {', '.join(FORMATS)}", field="format")
    check_url(new.url, settings)
    types = set(new.event_types)
    if not 1 <= len(types) <= MAX_EVENT_TYPES:
        raise InvalidInputError(f"name 1 to {MAX_EVENT_TYPES} event types",
                                field="event_types")
    known = set(REMINDER_EVENTS) if new.format in ROBOT_FORMATS else {*EVENT_CLASSES, "*"}
    if unknown := sorted(types - known):
        raise InvalidInputError(f"event types this format cannot carry: {unknown[:5]}",
                                field="event_types")
    takes_secret = new.format in ("dingtalk", "feishu")
    if new.robot_secret is not None and not (takes_secret and new.robot_secret):
        raise InvalidInputError("only a DingTalk or Feishu robot takes a secret (its own)",
                                field="secret")


async def create(projections: ProjectionStore, settings: WebhookSettings, actor: Actor,
                 new: NewSubscription, now: dt.datetime) -> tuple[dict[str, Any], str | None]:
    """Create a subscription; returns it and, for the JSON format, its secret (shown once).
    It receives the events logged from now on: the row is written holding the outbox
    projection (no batch runs meanwhile, and every later one sees it), starting at the log's
    size then, so no event logged after it is missed and none logged before it is sent (an
    event committed just before but sequenced just after counts as after)."""
    require_operator(actor)
    _check(new, settings)
    secret = generate_secret() if new.format == "json" else new.robot_secret
    subscription_id = str(uuid.uuid4())
    for _ in range(200):
        async with projections.transaction(NAME) as tx:
            if tx is None:  # a batch is being applied in another process: wait for it
                await asyncio.sleep(0.05)
                continue
            size = int((await tx.fetch(repo.LOG_SIZE))[0]["n"])
            await tx.execute(repo.INSERT_SUBSCRIPTION, subscription_id, new.url, new.format,
                             json.dumps(sorted(set(new.event_types))), new.description,
                             secret, max(size, tx.state.position), actor.id, format_time(now))
            created = await repo.subscription(tx, subscription_id)
            if created is None:
                raise ConflictError("the subscription was not stored; retry")
            return created, secret if new.format == "json" else None
    raise ConflictError("the webhook outbox is busy; retry")


async def listed(db: WebhookStore, actor: Actor) -> list[dict[str, Any]]:
    """Every subscription (never a secret)."""
    require_operator(actor)
    return await repo.subscriptions(db)


async def found(db: WebhookStore, actor: Actor, subscription_id: str) -> dict[str, Any]:
    """One subscription, or NotFoundError."""
    require_operator(actor)
    row = await repo.subscription(db, subscription_id)
    if row is None:
        raise NotFoundError("no such webhook")
    return row


async def rotate(db: WebhookStore, settings: WebhookSettings, actor: Actor,
                 subscription_id: str, now: dt.datetime) -> tuple[dict[str, Any], str]:
    """A new secret (shown once); the previous one signs too until the grace period ends."""
    row = await found(db, actor, subscription_id)
    if row["format"] != "json":
        raise ConflictError("a robot's secret is its own: create a subscription with the new one")
    secret = generate_secret()
    until = format_time(now + dt.timedelta(seconds=settings.rotation_grace_seconds))
    async with db.transaction() as tx:
        await repo.rotate(tx, subscription_id, secret, until)
    return await found(db, actor, subscription_id), secret


async def disable(db: WebhookStore, actor: Actor, subscription_id: str,
                  now: dt.datetime) -> dict[str, Any]:
    """Stop queueing and delivering to a subscription (for good)."""
    await found(db, actor, subscription_id)
    async with db.transaction() as tx:
        await repo.disable(tx, subscription_id, format_time(now), f"disabled by {actor.id}")
    return await found(db, actor, subscription_id)


async def deliveries(db: WebhookStore, actor: Actor, subscription_id: str | None,
                     status: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    """Deliveries of one subscription (or, None, of all), optionally of one status."""
    require_operator(actor)
    if subscription_id is not None:
        await found(db, actor, subscription_id)
    where, args = ["1 = 1"], []
    for column, value in (("subscription_id", subscription_id), ("status", status)):
        if value is not None:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    return await repo.deliveries(db, " AND ".join(where), args, limit, offset)


async def delivery(db: WebhookStore, actor: Actor, delivery_id: str) -> dict[str, Any]:
    """One delivery with its log of attempts."""
    require_operator(actor)
    row = await repo.delivery(db, delivery_id)
    if row is None:
        raise NotFoundError("no such delivery")
    row.pop("leased_until", None)
    return {**row, "log": await repo.attempts(db, delivery_id)}


async def redeliver(db: WebhookStore, actor: Actor, delivery_id: str,
                    now: dt.datetime) -> dict[str, Any]:
    """Send a delivery again (a dead letter, or one delivered before), due now; it keeps its
    ``webhook-id``. One in flight is left to finish."""
    require_operator(actor)
    async with db.transaction() as tx:
        row = await repo.delivery(tx, delivery_id)
        if row is None:
            raise NotFoundError("no such delivery")
        if row["status"] == "pending" and row["leased_until"] is not None and (
                row["leased_until"] > format_time(now)):
            raise ConflictError("this delivery is being attempted now")
        await repo.redeliver(tx, delivery_id, format_time(now))
    return await delivery(db, actor, delivery_id)
