"""HR sends a one-time sign-in link from the case page to someone taking part in the case:
the same use case as ``POST /v1/principals/{id}/sign-in-links`` (ledger.service.
sign_in_link_cases, with this case as its ``departure_id``), so whoever the API refuses the
console refuses. The link's URL is shown once, on the page this POST answers (no-store):
never in a flash cookie or a redirect's address."""

from __future__ import annotations

from aiohttp import web

from api.body import path_uuid
from api.runtime_key import RUNTIME
from api.sign_in_link_routes import base_url
from ledger.errors import LedgerError
from ledger.projections.case_index import BoardCaseIndex
from ledger.service import sign_in_link_cases as links
from ledger.sign_in_link import sign_in_link_url
from web.departure_pages import kept, show
from web.i18n import local_time
from web.keys import CATALOGUES, LOCALE
from web.people import People
from web.render import problem_text, render
from web.session import signed_in

routes = web.RouteTableDef()


@routes.post("/departures/{departure_id}/sign-in-link")
async def send_sign_in_link(request: web.Request) -> web.StreamResponse:
    """Issue a link for the chosen party of this case; its URL shown once."""
    actor = signed_in(request)
    departure_id = path_uuid(request, "departure_id")
    values = kept(await request.post(), "principal")
    runtime = request.app[RUNTIME]
    settings = runtime.settings
    try:
        secret, link = await links.issue_sign_in_link(
            runtime.principals, actor, values.get("principal", "").strip(),
            reach=links.Reach(runtime.ledger, BoardCaseIndex(runtime.projections)),
            departure_id=departure_id,
            lifetime=links.Lifetime(settings.sign_in_link_ttl, settings.sign_in_link_max_ttl))
    except LedgerError as error:
        problem = problem_text(request, error)
        status = problem["status"]
        return await show(request, departure_id, problem=problem, failed="sign-in-link",
                          form=values, status=status if isinstance(status, int) else 500)
    lang = request[LOCALE]
    people = People.of(await runtime.principals.names_of([link.principal_id]), (),
                       request.app[CATALOGUES].translations[lang].gettext)
    response = render(request, "departure/sign_in_link.html", departure_id=str(departure_id),
                      principal=people.text(link.principal_id),
                      url=sign_in_link_url(base_url(request), secret),
                      expires=local_time(link.expires_at, lang=lang,
                                         zone=request.app[CATALOGUES].zone))
    response.headers["Cache-Control"] = "no-store"
    return response
