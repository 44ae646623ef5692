"""Signing in by a one-time link (ledger.sign_in_link) that HR sent to a leaver.

Opening the link shows a page with one button; only the button's POST spends the link and
starts a session (method "link"). A GET never looks the link up, let alone spends it: chat apps
and mail scanners fetch every address they see to preview it, and must neither burn the link
nor learn whether it is good. A refused link counts as a failed sign-in of the address in the
API's limiter (api.sign_in_link_routes.redeem_link), as a bad token does.

The new session lands on My tasks (LANDING), not on the welcome page that made them look for
their work: whoever the link is for (the leaver, a receiver, a signer, an approver), it lists
what they have to do now, on the case the link was sent for and on any other, each with the
page to do it on."""

from __future__ import annotations

from aiohttp import web

from api.sign_in_link_routes import redeem_link
from ledger.errors import RateLimitedError, UnauthenticatedError
from web.i18n import N_
from web.render import render, translate
from web.session import start_session

routes = web.RouteTableDef()
PAGE = "sign_in_link.html"
LANDING = "/console/tasks"  # a fixed path of our own: nothing of the request chooses it


@routes.get("/sign-in/link/{secret}")
async def link_page(request: web.Request) -> web.Response:
    """The page a sign-in link opens: a button that signs in with it."""
    return render(request, PAGE, secret=request.match_info["secret"], error=None)


@routes.post("/sign-in/link/{secret}")
async def sign_in_by_link(request: web.Request) -> web.StreamResponse:
    """Spend the link and sign its principal in (acting in its first role, or choosing) and
    show them their tasks."""
    secret = request.match_info["secret"]
    try:
        principal, _ = await redeem_link(request, secret)
    except RateLimitedError:
        return render(request, PAGE, status=429, secret=secret, error=translate(
            request, N_("Too many failed sign-ins from this address; try again later.")))
    except UnauthenticatedError:
        return render(request, PAGE, status=401, secret=secret, error=translate(
            request, N_("This sign-in link is unknown, already used, revoked or expired. "
                        "Ask HR to send you a new one.")))
    return await start_session(request, principal, method="link", next_path=LANDING)
