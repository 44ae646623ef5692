"""The console's cookies and redirects: flags that depend on TLS, and redirect targets that
never leave the console."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from api.runtime_key import RUNTIME
from ledger.settings import Settings
from web.session import safe_next, set_cookie


@pytest.mark.parametrize(("scheme", "secure"), [("https", True), ("http", False)])
def test_console_cookies_are_secure_exactly_when_the_request_came_over_tls(
        scheme: str, secure: bool) -> None:
    request = make_mocked_request("GET", "/console/").clone(scheme=scheme)
    response = web.Response()
    set_cookie(request, response, "hl_session", "secret")
    header = response.cookies["hl_session"].OutputString()
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Path=/console" in header
    assert ("Secure" in header) is secure


@pytest.mark.parametrize(("public_url", "secure"), [
    ("https://ledger.example.com", True), ("http://ledger.internal", False), (None, False)])
def test_behind_a_tls_proxy_the_public_address_decides_secure(public_url: str | None,
                                                               secure: bool) -> None:
    app = web.Application()
    settings = Settings(database_url="sqlite:///x.db", public_url=public_url)
    app[RUNTIME] = SimpleNamespace(settings=settings)  # type: ignore[assignment]
    request = make_mocked_request("GET", "/console/", app=app)  # plain HTTP from the proxy
    response = web.Response()
    set_cookie(request, response, "hl_session", "secret")
    assert ("Secure" in response.cookies["hl_session"].OutputString()) is secure


@pytest.mark.parametrize(("asked", "target"), [
    ("/console/departures/1?x=2", "/console/departures/1?x=2"),
    ("/console/", "/console/"),
    ("https://evil.example/", "/console/"),
    ("//evil.example/console/", "/console/"),
    ("/console//evil.example", "/console/"),
    ("/console/\\evil", "/console/"),
    ("/v1/departures", "/console/"),
    ("/console/x\r\nSet-Cookie: a=b", "/console/"),
    (None, "/console/"),
])
def test_a_redirect_after_sign_in_stays_inside_the_console(asked: str | None,
                                                          target: str) -> None:
    assert safe_next(asked) == target
