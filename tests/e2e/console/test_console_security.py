"""The console's defences over real HTTP: CSRF, cookies, headers, who sees what, sign-out
and expiry. Every refusal says nothing about why."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from tests.integration.http_fixtures import Api, serve
from tests.support.console import Console, console_session, csrf_of, open_case
from web.security import CSP


async def test_the_root_and_the_console_answer_without_a_bearer_token(console: Console) -> None:
    root = await console.get("/")
    assert (root.status, root.headers["Location"]) == (302, "/console/")
    for redirect in (root, await console.get("/console")):  # the policy on the redirects too
        assert redirect.headers["Location"] == "/console/"
        assert redirect.headers["Content-Security-Policy"] == CSP
        assert redirect.headers["X-Frame-Options"] == "DENY"
        assert redirect.headers["X-Content-Type-Options"] == "nosniff"
    home = await console.get("/console/")
    assert home.status == 303 and home.headers["Location"].startswith("/console/sign-in")
    assert (await console.get("/v1/departures")).status == 401  # the API still asks


async def test_every_console_response_carries_the_policy_and_pages_are_not_stored(
        console: Console) -> None:
    for path in ("/console/sign-in", "/console/", "/console/static/console.css",
                 "/console/no-such-page"):
        reply = await console.get(path)
        assert reply.headers["Content-Security-Policy"] == CSP, path
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert reply.headers["Referrer-Policy"] == "no-referrer"
    assert (await console.get("/console/sign-in")).headers["Cache-Control"] == "no-store"
    page = (await console.get("/console/sign-in")).body.decode()
    assert "<script>" not in page and " style=" not in page and "onclick" not in page


async def test_a_post_without_the_csrf_token_is_refused_before_anything_runs(
        console: Console, site: Api) -> None:
    await console.sign_in("hr.sun")
    secret = console.cookie("hl_session")
    for data in ({}, {"csrf": "0" * 64}, {"csrf": ""}):
        refused = await console.request("POST", "/console/sign-out", data=data)
        assert refused.status == 403, data
        main = refused.body.decode().split('<main id="main">')[1].split("</main>")[0]
        assert "<h1>无权操作</h1>" in main and 'class="error"' not in main  # the title only
    # still signed in: the refused sign-outs did nothing
    assert console.cookie("hl_session") == secret
    assert (await console.get("/console/")).status == 200
    # a token from another session does not do either
    async with console_session() as other_session:
        other = Console(site, other_session)
        await other.sign_in("hr.zhou")
        theirs = csrf_of((await other.get("/console/")).body)
    assert (await console.request("POST", "/console/sign-out",
                                  data={"csrf": theirs})).status == 403


async def test_a_post_from_another_origin_is_refused_even_with_the_token(
        console: Console) -> None:
    await console.sign_in("hr.sun")
    token = csrf_of((await console.get("/console/")).body)
    refused = await console.request("POST", "/console/sign-out", data={"csrf": token},
                                    headers={"Origin": "https://evil.example"})
    assert refused.status == 403
    same = await console.request("POST", "/console/sign-out", data={"csrf": token},
                                 headers={"Origin": console.api.base})
    assert same.status == 303


async def test_origin_null_from_our_own_pages_passes_only_when_fetch_metadata_agrees(
        console: Console) -> None:
    # Our Referrer-Policy (no-referrer) makes browsers send "Origin: null" on our own forms.
    await console.sign_in("hr.sun")
    token = csrf_of((await console.get("/console/")).body)
    for site in ("cross-site", "same-site", "none"):
        refused = await console.request("POST", "/console/sign-out", data={"csrf": token},
                                        headers={"Origin": "null", "Sec-Fetch-Site": site})
        assert refused.status == 403, site
    same = await console.request("POST", "/console/sign-out", data={"csrf": token},
                                 headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"})
    assert same.status == 303


async def test_the_session_cookie_is_http_only_strict_and_scoped_to_the_console(
        console: Console) -> None:
    reply = await console.sign_in("wang.lei")
    cookie = next(v for k, v in reply.headers.items()
                  if k.lower() == "set-cookie" and v.startswith("hl_session="))
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "path"} <= flags
    assert "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert "secure" not in flags  # plain HTTP on loopback; over TLS it is Secure


async def test_a_wrong_token_signs_no_one_in_and_counts_as_a_failure(console: Console,
                                                                     site: Api) -> None:
    for attempt in range(site.runtime.settings.auth_failure_limit):
        reply = await console.post_form("/console/sign-in", {"token": f"hl_wrong{attempt}"})
        assert reply.status == 401 and console.cookie("hl_session") is None
    limited = await console.post_form("/console/sign-in", {"token": site.tokens["hr.sun"]})
    assert limited.status == 429 and console.cookie("hl_session") is None
    # the API's limiter is the same one: the API refuses this address too
    assert (await site.get("/v1/departures", "hr.sun")).status == 429


async def test_only_hr_sees_the_dashboard_and_its_cases(console: Console, site: Api) -> None:
    departure_id = await open_case(site, leaver="zhao.min")
    await console.sign_in("hr.sun")
    page = (await console.get("/console/")).body.decode()
    assert departure_id in page and "赵敏" in page and 'class="case' in page
    for who, role in (("wang.lei", None), ("legal.mgr", "employee"), ("it.qian", None)):
        async with console_session() as session:
            other = Console(site, session)
            await other.sign_in(who, role)
            theirs = await other.get("/console/?state=handing_over")
            assert theirs.status == 200
            shown = theirs.body.decode()
            assert departure_id not in shown and 'class="case' not in shown, who


async def test_sign_out_deletes_the_session_so_the_old_cookie_is_worthless(
        console: Console) -> None:
    await console.sign_in("hr.sun")
    secret = console.cookie("hl_session")
    assert secret is not None
    out = await console.post_form("/console/sign-out", {}, csrf_from="/console/")
    assert out.status == 303
    replay = await console.get("/console/", cookies={"hl_session": secret})
    assert replay.status == 303 and replay.headers["Location"].startswith("/console/sign-in")


async def test_an_idle_session_expires(tmp_path: Path) -> None:
    async with serve(f"sqlite:///{tmp_path}/l.db", tmp_path,
                     console_idle_timeout=dt.timedelta(seconds=1)) as site, \
            console_session() as session:
        console = Console(site, session)
        await console.sign_in("hr.sun")
        assert (await console.get("/console/")).status == 200
        await asyncio.sleep(1.2)
        assert (await console.get("/console/")).status == 303


async def test_a_multi_role_principal_chooses_only_among_its_own_roles(
        console: Console) -> None:
    reply = await console.sign_in("hr.leaver")
    assert reply.headers["Location"].startswith("/console/role")
    refused = await console.post_form("/console/role", {"role": "legal"})
    assert refused.status == 403
    await console.post_form("/console/role", {"role": "hr"})
    assert "HR" in (await console.get("/console/", headers={"Accept-Language": "en"})
                    ).body.decode()


async def test_revoking_the_token_ends_the_sessions_it_started(console: Console,
                                                              site: Api) -> None:
    await console.sign_in("hr.sun")
    assert (await console.get("/console/")).status == 200
    tokens = (await site.get("/v1/principals/hr.sun/tokens", "admin")).json()["tokens"]
    [token_id] = [t["token_id"] for t in tokens]
    revoked = await site.call("DELETE", f"/v1/principals/hr.sun/tokens/{token_id}", "admin")
    assert revoked.status in (200, 204), revoked.body
    assert (await console.get("/console/")).status == 303


async def test_signing_in_again_ends_the_browsers_previous_session(console: Console) -> None:
    await console.sign_in("hr.sun")
    first = console.cookie("hl_session")
    await console.sign_in("wang.lei")
    assert console.cookie("hl_session") != first
    replay = await console.get("/console/", cookies={"hl_session": first or ""})
    assert replay.status == 303


async def test_a_failure_is_a_page_with_an_error_id_and_no_trace(console: Console,
                                                                 site: Api) -> None:
    await console.sign_in("hr.sun")

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    site.runtime.projections.fetch = broken  # type: ignore[method-assign]
    reply = await console.get("/console/", headers={"Accept-Language": "en"})
    page = reply.body.decode()
    assert reply.status == 500 and reply.content_type == "text/html"
    assert "Internal error" in page and "Error id: " in page
    assert "secret internals" not in page and "Traceback" not in page
    assert reply.headers["Content-Security-Policy"] == CSP
