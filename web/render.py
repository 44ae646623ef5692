"""Rendering console pages: one Jinja2 environment per language (the i18n extension with
that language's catalogue), the page context every template gets, flash messages, and the
API's problems shown in the reader's language."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import jinja2
from aiohttp import web
from babel.support import Translations
from markupsafe import Markup, escape
from pydantic import ValidationError

from api.problem import describe_error, describe_validation, internal_problem, route_of
from ledger.errors import LedgerError, PushbackError
from web.i18n import LANGUAGE_NAMES, LANGUAGES, N_, Catalogues, local_date, local_time
from web.keys import ACTOR, CATALOGUES, LOCALE, SESSION
from web.labels import DEPARTURE_STATE_LABELS, ROLE_LABELS
from web.nav import links_for
from web.security import csrf_token
from web.session import COOKIE_PATH, set_cookie

TEMPLATES = Path(__file__).parent / "templates"
ENVIRONMENTS = web.AppKey("console_environments", dict[str, jinja2.Environment])
FLASH_COOKIE = "hl_flash"


class _Environment(jinja2.Environment):
    """Jinja's environment, reading ``x.name`` of a plain dict (the read models' rows) as
    its key at once: Jinja tries the attribute first, and the AttributeError cost a page of
    25 dashboard rows ~0.7 ms. The same answers as Jinja's: a dict method's name (``items``,
    ``get``) is still the method, a missing key still undefined."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


_DICT_ATTRIBUTES = frozenset(dir(dict))


def build_environments(catalogues: Catalogues) -> dict[str, jinja2.Environment]:
    """One environment per language, its gettext and date filters bound to it."""
    found: dict[str, jinja2.Environment] = {}
    for lang in LANGUAGES:
        env = _Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                                 autoescape=True, extensions=["jinja2.ext.i18n"],
                                 undefined=jinja2.StrictUndefined, auto_reload=False)
        translations = catalogues.translations[lang]
        env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
        env.globals.update(_escaped_gettext(translations))
        env.filters["day"] = functools.partial(local_date, lang=lang)
        env.filters["moment"] = functools.partial(local_time, lang=lang, zone=catalogues.zone)
        env.globals["titled"] = functools.partial(titled, lang=lang)
        found[lang] = env
    return found


def titled(title: str, label: str | None, lang: str, plain: bool = False) -> Markup:
    """An item's title for a reader: in English, a built-in checklist item's English
    ``label`` first, the title as recorded beside it (where it differs) as secondary text;
    the recorded title otherwise. ``plain``: the label alone (a page's <title>)."""
    if lang != "en" or not label or label == title:
        return escape(title)
    if plain:
        return escape(label)
    return Markup('{} <span class="hint recorded-title" lang="zh">{}</span>').format(
        label, title)


def _escaped_gettext(translations: Translations) -> dict[str, Callable[..., Markup]]:
    """Jinja's new-style ``_``, ``gettext`` and ``ngettext`` (the translation is markup, the
    values are escaped into it) as plain functions: the extension's own go through the
    template context three times a call. Each message is looked up once per process, and
    the values are escaped before a plain ``%`` (what Markup's ``%`` does, without its
    wrapper object per value): a page calls these a few hundred times."""
    found: dict[str, str] = {}
    plural: dict[tuple[str, str, int], str] = {}

    def gettext(message: str, **values: object) -> Markup:
        text = found.get(message)
        if text is None:
            text = translations.gettext(message)
            if len(found) < 4096:
                found[message] = text
        return Markup(text % {k: _escaped(v) for k, v in values.items()})  # noqa: S704

    def ngettext(singular: str, plural_form: str, num: int, **values: object) -> Markup:
        values.setdefault("num", num)
        key = (singular, plural_form, num)
        text = plural.get(key)
        if text is None:
            text = translations.ngettext(singular, plural_form, num)
            if len(plural) < 4096:
                plural[key] = text
        return Markup(text % {k: _escaped(v) for k, v in values.items()})  # noqa: S704

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext}


def _escaped(value: object) -> object:
    """A value to %-format into markup: numbers as they are (``%d`` keeps working), anything
    else HTML-escaped (markup stays as it is)."""
    return value if isinstance(value, int | float) else escape(value)


def translate(request: web.Request, message: str, **values: object) -> str:
    """``message`` (an English msgid) in the reader's language, %-formatted with ``values``."""
    text = request.app[CATALOGUES].translations[request[LOCALE]].gettext(message)
    return text % values if values else text


def flash(request: web.Request, response: web.StreamResponse, message: str,
          **values: object) -> None:
    """Show ``message`` (translated now) on the next page this browser renders."""
    set_cookie(request, response, FLASH_COOKIE, quote(translate(request, message, **values)))


def render(request: web.Request, template: str, status: int = 200,
           **context: Any) -> web.Response:
    """Render ``template`` (extending base.html) in the reader's language as the response,
    with ``actor``, ``csrf``, ``lang``, ``nav`` and the pending ``flash`` in its context."""
    lang = request[LOCALE]
    env = request.app[ENVIRONMENTS][lang]
    pending = request.cookies.get(FLASH_COOKIE)
    actor = request.get(ACTOR)
    page = env.get_template(template).render(
        actor=actor, csrf=csrf_token(request), lang=lang, languages=LANGUAGE_NAMES,
        nav=links_for(actor), role_labels=ROLE_LABELS, state_labels=DEPARTURE_STATE_LABELS,
        path=request.path,
        here=quote(request.path_qs),
        flash=unquote(pending)[:500] if pending else None,
        by_link=SESSION in request and request[SESSION].method == "link", **context)
    response = web.Response(text=page, content_type="text/html", status=status)
    if pending is not None:
        response.del_cookie(FLASH_COOKIE, path=COOKIE_PATH)
    return response


def problem_text(request: web.Request, error: Exception) -> Mapping[str, object]:
    """The API's problem for ``error`` (a LedgerError, pydantic's ValidationError, anything
    else: a logged internal error with an id) with its title in the reader's language; the
    detail is the use case's own words, as the API gives them."""
    if isinstance(error, ValidationError):
        body = describe_validation(error)
    elif isinstance(error, LedgerError):
        body = describe_error(error)
    else:
        body = {"status": 500}
    status = body["status"]
    if isinstance(status, int) and status >= 500 and not isinstance(error, PushbackError):
        body = internal_problem("the server failed; quote the error id",
                                f"console {request.method} {route_of(request)}")
    return {**body, "title": translate(request, str(body["title"]))}


def status_of(problem: Mapping[str, object]) -> int:
    """The HTTP status of a problem (``problem_text``'s), for a form re-rendered with it."""
    status = problem["status"]
    return status if isinstance(status, int) else 500


def render_problem(request: web.Request, error: Exception) -> web.Response:
    """A page for a use case's refusal (or a failure), with the status the API would
    answer."""
    problem = problem_text(request, error)
    status = problem["status"]
    response = render(request, "problem.html",
                      status=status if isinstance(status, int) else 500, problem=problem)
    if isinstance(error, PushbackError):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def render_refusal(request: web.Request, status: int) -> web.Response:
    """403 or 404 as a page that says no more than its title."""
    title = translate(request, "Forbidden" if status == 403 else "Not found")
    return render(request, "problem.html", status=status,
                  problem={"status": status, "title": title, "detail": ""})


# The API's problem titles (api.problem.STATUS_TABLE), marked for the catalogues.
PROBLEM_TITLES = (
    N_("Departure cannot close yet"), N_("Handover confirmation not signed by everyone"),
    N_("Not found"), N_("Authentication required"), N_("Precondition failed"), N_("Conflict"),
    N_("Idempotency key reused"), N_("Too large"), N_("Invalid input"), N_("Forbidden"),
    N_("Not allowed in the current state"), N_("Verification failed"),
    N_("Too many requests"), N_("Insufficient storage"), N_("Try again later"),
    N_("Server misconfigured"), N_("Internal error"),
)
