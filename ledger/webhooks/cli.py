"""``ledger webhooks list|create|rotate|disable|dead-letters|redeliver``: the admin API's use
cases from the command line, as the ledger's own operator. Wiring (in the CLI's composition):
``add_parser(sub)`` beside the other sub-commands and ``"webhooks": cmd_webhooks`` in the
command table; the signature is the CLI's ``(args, settings, store) -> exit code``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from ledger.settings import Settings
from ledger.store.port import EventStore


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``webhooks`` command and its sub-commands to an argparse sub-parser set."""
    hooks = sub.add_parser("webhooks", help="manage outbound webhooks")
    commands = hooks.add_subparsers(dest="webhooks_command", required=True)
    commands.add_parser("list", help="list subscriptions (never secrets)")
    create = commands.add_parser("create", help="subscribe a URL (a JSON secret is printed "
                                 "once)")
    create.add_argument("url")
    create.add_argument("event_types", nargs="+", help="event types, or * for all")
    create.add_argument("--format", default="json",
                        choices=("json", "dingtalk", "wecom", "feishu"))
    create.add_argument("--description", default="")
    create.add_argument("--robot-secret", help="a DingTalk or Feishu robot's signing secret")
    for name, text in (("rotate", "new secret, printed once"), ("disable", "stop delivering")):
        commands.add_parser(name, help=text).add_argument("webhook_id")
    commands.add_parser("dead-letters", help="deliveries given up after the retry limit")
    commands.add_parser("redeliver", help="queue a delivery again").add_argument("delivery_id")
    parser: argparse.ArgumentParser = hooks
    return parser


async def cmd_webhooks(args: argparse.Namespace, settings: Settings, store: EventStore) -> int:
    """Dispatch ``ledger webhooks ...``; prints JSON lines."""
    from ledger.service.ledger import SYSTEM_ACTOR
    from ledger.store.projection_factory import projection_store_for
    from ledger.store.webhook_factory import webhook_store_for
    from ledger.webhooks import subscriptions as subs

    await store.migrate()
    db, now, who = webhook_store_for(store), dt.datetime.now(dt.UTC), SYSTEM_ACTOR
    command = args.webhooks_command
    rows: list[dict[str, Any]]
    if command == "list":
        rows = await subs.listed(db, who)
    elif command == "create":
        new = subs.NewSubscription(args.url, args.event_types, args.format, args.description,
                                   args.robot_secret)
        row, secret = await subs.create(projection_store_for(store), settings.webhooks, who,
                                        new, now)
        rows = [{**row, "secret": secret}]
    elif command == "rotate":
        row, secret = await subs.rotate(db, settings.webhooks, who, args.webhook_id, now)
        rows = [{**row, "secret": secret}]
    elif command == "disable":
        rows = [await subs.disable(db, who, args.webhook_id, now)]
    elif command == "dead-letters":
        rows = await subs.deliveries(db, who, None, "dead", 200, 0)
    else:
        rows = [await subs.redeliver(db, who, args.delivery_id, now)]
    for row in rows:
        print(json.dumps(row, ensure_ascii=False, default=str))
    return 0
