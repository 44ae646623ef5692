"""Outbound webhooks over HTTP (operators only): subscriptions, their secrets (shown once, on
create and rotate), the delivery log, dead letters and manual redelivery. The use cases are in
``ledger.webhooks.subscriptions``; delivery itself runs in the dispatcher worker."""

from __future__ import annotations

import json
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.auth import actor_of
from api.body import path_uuid, read_object
from api.endpoint import EndpointTable
from api.idempotent import IDEMPOTENCY_HEADER, idempotent
from api.query_routes import MAX_PAGE, _int
from api.runtime_key import RUNTIME
from api.views import View, ok
from ledger.errors import InvalidInputError
from ledger.store.webhook_port import WebhookStore
from ledger.webhooks import subscriptions as subs

table = EndpointTable()
EventType = Annotated[str, StringConstraints(min_length=1, max_length=60)]


class NewWebhook(BaseModel):
    """A subscription: where to, which event types, in which format. ``secret`` is only for a
    DingTalk or Feishu robot (its own signing secret); JSON subscriptions get a generated
    ``whsec_`` secret, returned once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    event_types: list[EventType] = Field(min_length=1, max_length=subs.MAX_EVENT_TYPES)
    format: Annotated[str, StringConstraints(max_length=20)] = "json"
    description: Annotated[str, StringConstraints(max_length=500)] = ""
    secret: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None


class WebhookView(View):
    """A subscription (never its secret)."""

    id: str
    url: str
    format: str
    event_types: list[str]
    description: str
    active: bool
    from_index: int
    created_by: str
    created_at: str
    disabled_at: str | None
    disabled_reason: str | None
    previous_secret_valid_until: str | None


class WebhookCreated(WebhookView):
    """A new subscription and, for JSON, its secret: shown this once, never again."""

    secret: str | None


class WebhookSecret(WebhookView):
    """A rotated secret (shown once); the previous one signs too until
    ``previous_secret_valid_until``."""

    secret: str | None


class WebhookList(View):
    """Every subscription."""

    items: list[WebhookView]


class DeliveryView(View):
    """One event queued for one subscription."""

    id: str
    subscription_id: str
    event_id: str
    event_type: str
    log_index: int
    ordering_key: str
    status: str
    attempts: int
    failures: int
    next_attempt_at: str
    last_status: int | None
    last_error: str | None
    created_at: str
    delivered_at: str | None


class AttemptView(View):
    """One attempt of the delivery log."""

    attempt: int
    at: str
    status_code: int | None
    duration_ms: int
    outcome: str
    error: str | None


class DeliveryDetail(DeliveryView):
    """A delivery with its log."""

    log: list[AttemptView]


class DeliveryList(View):
    """A page of deliveries."""

    items: list[DeliveryView]
    limit: int
    offset: int


def _db(request: web.Request) -> WebhookStore:
    return request.app[RUNTIME].webhooks


def _view(row: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**{k: v for k, v in row.items() if k != "previous_until"},
            "event_types": json.loads(row["event_types"]), "active": bool(row["active"]),
            "previous_secret_valid_until": row["previous_until"], **extra}


def _page(request: web.Request) -> tuple[int, int]:
    return _int(request, "limit", 50, MAX_PAGE), _int(request, "offset", 0, 10**9)


def _status(request: web.Request) -> str | None:
    status = request.query.get("status") or None
    if status is not None and status not in subs.STATUSES:
        raise InvalidInputError(f"status must be one of {', '.join(subs.STATUSES)}",
                                field="status")
    return status


@table.route("POST", "/v1/webhooks", "Subscribe a URL to event types (operator)",
             body=NewWebhook, response=WebhookCreated, status=201,
             headers=(IDEMPOTENCY_HEADER,))
@idempotent(redact=("secret",))
async def create_webhook(request: web.Request) -> web.Response:
    """Create a subscription; its secret is in this answer only."""
    body = NewWebhook.model_validate(await read_object(request))
    runtime = request.app[RUNTIME]
    new = subs.NewSubscription(body.url, body.event_types, body.format, body.description,
                               body.secret)
    row, secret = await subs.create(runtime.projections, runtime.settings.webhooks,
                                    actor_of(request), new, runtime.ledger.clock())
    response = ok(WebhookCreated(**_view(row, secret=secret)), status=201)
    response.headers["Cache-Control"] = "no-store"
    return response


@table.route("GET", "/v1/webhooks", "List webhook subscriptions (operator)",
             response=WebhookList)
async def list_webhooks(request: web.Request) -> web.Response:
    """Every subscription, oldest first."""
    rows = await subs.listed(_db(request), actor_of(request))
    return ok(WebhookList(items=[WebhookView(**_view(r)) for r in rows]))


@table.route("GET", "/v1/webhooks/dead-letters", "Dead letters of every webhook (operator)",
             response=DeliveryList, query=(("limit", "integer"), ("offset", "offset")))
async def dead_letters(request: web.Request) -> web.Response:
    """Deliveries given up after the retry limit, oldest event first."""
    limit, offset = _page(request)
    rows = await subs.deliveries(_db(request), actor_of(request), None, "dead", limit, offset)
    return ok(DeliveryList(items=[DeliveryView(**r) for r in rows], limit=limit, offset=offset))


@table.route("GET", "/v1/webhooks/{webhook_id}", "A webhook subscription (operator)",
             response=WebhookView)
async def get_webhook(request: web.Request) -> web.Response:
    """One subscription."""
    row = await subs.found(_db(request), actor_of(request),
                           str(path_uuid(request, "webhook_id")))
    return ok(WebhookView(**_view(row)))


@table.route("POST", "/v1/webhooks/{webhook_id}/rotate", "Rotate a webhook's secret (operator)",
             response=WebhookSecret, headers=(IDEMPOTENCY_HEADER,))
@idempotent(redact=("secret",))
async def rotate_webhook(request: web.Request) -> web.Response:
    """A new secret, shown once; the old one keeps signing for the grace period."""
    runtime = request.app[RUNTIME]
    row, secret = await subs.rotate(_db(request), runtime.settings.webhooks, actor_of(request),
                                    str(path_uuid(request, "webhook_id")),
                                    runtime.ledger.clock())
    response = ok(WebhookSecret(**_view(row, secret=secret)))
    response.headers["Cache-Control"] = "no-store"
    return response


@table.route("POST", "/v1/webhooks/{webhook_id}/disable", "Disable a webhook (operator)",
             response=WebhookView)
async def disable_webhook(request: web.Request) -> web.Response:
    """Stop queueing and delivering to it."""
    row = await subs.disable(_db(request), actor_of(request),
                             str(path_uuid(request, "webhook_id")),
                             request.app[RUNTIME].ledger.clock())
    return ok(WebhookView(**_view(row)))


@table.route("GET", "/v1/webhooks/{webhook_id}/deliveries",
             "A webhook's deliveries (operator)", response=DeliveryList,
             query=(("status", "string"), ("limit", "integer"), ("offset", "offset")))
async def webhook_deliveries(request: web.Request) -> web.Response:
    """Deliveries of one subscription, optionally of one status."""
    limit, offset = _page(request)
    rows = await subs.deliveries(_db(request), actor_of(request),
                                 str(path_uuid(request, "webhook_id")), _status(request),
                                 limit, offset)
    return ok(DeliveryList(items=[DeliveryView(**r) for r in rows], limit=limit, offset=offset))


@table.route("GET", "/v1/webhooks/deliveries/{delivery_id}",
             "A delivery and its log of attempts (operator)", response=DeliveryDetail)
async def get_delivery(request: web.Request) -> web.Response:
    """One delivery, attempt by attempt."""
    row = await subs.delivery(_db(request), actor_of(request),
                              str(path_uuid(request, "delivery_id")))
    return ok(DeliveryDetail(**row))


@table.route("POST", "/v1/webhooks/deliveries/{delivery_id}/redeliver",
             "Deliver again (operator)", response=DeliveryDetail, status=202)
async def redeliver(request: web.Request) -> web.Response:
    """Queue a dead letter (or a delivered message) again, due now."""
    row = await subs.redeliver(_db(request), actor_of(request),
                               str(path_uuid(request, "delivery_id")),
                               request.app[RUNTIME].ledger.clock())
    return ok(DeliveryDetail(**row), status=202)
