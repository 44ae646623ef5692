"""``ledger principals``, ``ledger tokens`` and ``ledger sign-in-link``: who may authenticate,
their bearer tokens, and one-time sign-in links to the console. Every change is recorded as
done by the system operator."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Awaitable, Callable

from ledger.cli.common import Subparsers, err, out, require_existing_ledger, storage
from ledger.entry import format_time
from ledger.errors import ConfigurationError
from ledger.settings import Settings
from ledger.storage import Storage

Action = Callable[[argparse.Namespace, Storage], Awaitable[int]]


COMMANDS = ("principals", "tokens", "sign-in-link")
"""The commands ``register`` adds (``ledger.cli`` builds only the group a command needs)."""


def register(sub: Subparsers) -> None:
    """Add ``principals add|deactivate|history``, ``tokens issue|list|revoke`` and
    ``sign-in-link``."""
    principals = sub.add_parser("principals", help="manage principals")
    principals_sub = principals.add_subparsers(dest="principals_command", required=True)
    add = principals_sub.add_parser("add", help="create a principal")
    add.add_argument("principal_id")
    add.add_argument("--name", required=True)
    add.add_argument("--role", action="append", required=True,
                     help="a role it may act as (repeatable)")
    add.set_defaults(action=cmd_principals_add)
    deactivate = principals_sub.add_parser(
        "deactivate", help="deactivate a principal: every token stops at once")
    deactivate.add_argument("principal_id")
    deactivate.set_defaults(action=cmd_principals_deactivate)
    history = principals_sub.add_parser(
        "history", help="who issued, revoked or deactivated what for a principal")
    history.add_argument("principal_id")
    history.set_defaults(action=cmd_principals_history)
    principals.set_defaults(run=run_action)
    tokens = sub.add_parser("tokens", help="manage bearer tokens")
    tokens_sub = tokens.add_subparsers(dest="tokens_command", required=True)
    issue = tokens_sub.add_parser("issue", help="issue a token (printed once on stdout)")
    issue.add_argument("principal_id")
    issue.add_argument("--label", default="cli")
    issue.add_argument("--expires-in-days", type=int, default=None,
                       help="a lifetime shorter than LEDGER_TOKEN_TTL_DAYS (default 90)")
    issue.set_defaults(action=cmd_tokens_issue)
    listing = tokens_sub.add_parser("list", help="list a principal's tokens (never secrets)")
    listing.add_argument("principal_id")
    listing.set_defaults(action=cmd_tokens_list)
    revoke = tokens_sub.add_parser("revoke", help="revoke one token by its id")
    revoke.add_argument("principal_id")
    revoke.add_argument("token_id", help="16 hex digits, as `ledger tokens list` shows")
    revoke.set_defaults(action=cmd_tokens_revoke)
    tokens.set_defaults(run=run_action)
    link = sub.add_parser("sign-in-link", help="issue a one-time sign-in link to the console "
                          "(its URL printed once on stdout)")
    link.add_argument("principal_id")
    link.add_argument("--expires-in-minutes", type=int, default=None,
                      help="a lifetime other than LEDGER_SIGN_IN_LINK_MINUTES (default 30), "
                      "at most LEDGER_SIGN_IN_LINK_MAX_MINUTES (default 1440)")
    link.add_argument("--base-url", default=None,
                      help="where people reach the service (default: $LEDGER_PUBLIC_URL)")
    link.set_defaults(action=cmd_sign_in_link, run=run_action)


async def run_action(args: argparse.Namespace, settings: Settings) -> int:
    """Run one ``principals`` or ``tokens`` subcommand; only ``principals add`` may meet an
    empty database. The schema is migrated first: an older ledger gains the columns these
    commands use."""
    if getattr(args, "principals_command", "add") != "add" or args.command != "principals":
        require_existing_ledger(settings)
    action: Action = args.action
    async with storage(settings, migrate=True) as opened:
        return await action(args, opened)


async def cmd_principals_add(args: argparse.Namespace, opened: Storage) -> int:
    """Create a principal (a person or a system) with its roles."""
    from ledger.service.ledger import SYSTEM_ACTOR
    from ledger.service.principal_cases import create_principal

    principal = await create_principal(opened.principals, SYSTEM_ACTOR,
                                       args.principal_id, args.name, args.role)
    out.print(f"principal {principal.id} ({', '.join(principal.roles)}) created")
    return 0


async def cmd_tokens_issue(args: argparse.Namespace, opened: Storage) -> int:
    """Issue a bearer token; it is printed once, on stdout, and stored only as a hash."""
    from ledger.service.ledger import SYSTEM_ACTOR
    from ledger.service.principal_cases import grant_token

    expires_in = (dt.timedelta(days=args.expires_in_days) if args.expires_in_days is not None
                  else None)
    token, info = await grant_token(opened.principals, SYSTEM_ACTOR,
                                    args.principal_id, args.label, expires_in=expires_in,
                                    max_ttl=opened.settings.token_ttl)
    err.print(f"token {info.token_id} expires {format_time(info.expires_at)}", markup=False)
    print(token, flush=True)  # stdout only, so `$(ledger tokens issue x)` captures just it
    return 0


async def cmd_sign_in_link(args: argparse.Namespace, opened: Storage) -> int:
    """Issue a one-time sign-in link (as the system operator); its URL is printed once, on
    stdout, and only its hash is stored."""
    from ledger.service.ledger import SYSTEM_ACTOR
    from ledger.service.sign_in_link_cases import Lifetime, issue_sign_in_link
    from ledger.sign_in_link import sign_in_link_url

    settings = opened.settings
    base = args.base_url or settings.public_url
    if not base or not base.startswith(("https://", "http://")):
        raise ConfigurationError("say where people reach the service: --base-url "
                                 "https://ledger.example.com or LEDGER_PUBLIC_URL")
    expires_in = (dt.timedelta(minutes=args.expires_in_minutes)
                  if args.expires_in_minutes is not None else None)
    secret, link = await issue_sign_in_link(
        opened.principals, SYSTEM_ACTOR, args.principal_id, expires_in=expires_in,
        lifetime=Lifetime(settings.sign_in_link_ttl, settings.sign_in_link_max_ttl))
    err.print(f"sign-in link {link.link_id} for {link.principal_id}, single use, expires "
              f"{format_time(link.expires_at)}", markup=False)
    print(sign_in_link_url(base, secret), flush=True)  # stdout only, as tokens issue does
    return 0


async def cmd_tokens_list(args: argparse.Namespace, opened: Storage) -> int:
    """List a principal's tokens: ids, labels, expiry and state, never secrets."""
    from ledger.service.ledger import SYSTEM_ACTOR
    from ledger.service.principal_cases import list_tokens

    now = dt.datetime.now(dt.UTC)
    for t in await list_tokens(opened.principals, SYSTEM_ACTOR, args.principal_id):
        state = "revoked" if t.revoked else "active" if t.active_at(now) else "expired"
        out.print(f"{t.token_id}  {state:7}  created {format_time(t.created_at)}  expires "
                  f"{format_time(t.expires_at)}  {t.label}", markup=False)
    return 0


async def cmd_tokens_revoke(args: argparse.Namespace, opened: Storage) -> int:
    """Revoke one token of a principal (recorded as done by the system operator)."""
    from ledger.service.ledger import SYSTEM_ACTOR
    from ledger.service.principal_cases import revoke_token

    revoked = await revoke_token(opened.principals, SYSTEM_ACTOR, args.principal_id,
                                 args.token_id)
    out.print(f"token {args.token_id} {'revoked' if revoked else 'was already revoked'}")
    return 0


async def cmd_principals_deactivate(args: argparse.Namespace, opened: Storage) -> int:
    """Deactivate a principal: every token stops at once."""
    from ledger.service.ledger import SYSTEM_ACTOR
    from ledger.service.principal_cases import deactivate_principal

    revoked = await deactivate_principal(opened.principals, SYSTEM_ACTOR,
                                         args.principal_id)
    out.print(f"principal {args.principal_id} deactivated; {revoked} token(s) revoked")
    return 0


async def cmd_principals_history(args: argparse.Namespace, opened: Storage) -> int:
    """Print who issued, revoked or deactivated what for a principal, and when."""
    from ledger.service.ledger import SYSTEM_ACTOR
    from ledger.service.principal_cases import principal_history

    for e in await principal_history(opened.principals, SYSTEM_ACTOR,
                                     args.principal_id):
        out.print(f"{format_time(e.at)}  {e.action:21}  {e.subject or '-':16}  by {e.actor_id} "
                  f"({e.actor_role})" + (f" via {e.method}" if e.method else ""), markup=False)
    return 0
