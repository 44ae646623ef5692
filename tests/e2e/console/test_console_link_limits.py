"""What a session opened by a one-time sign-in link may not do, whoever followed the link:
register a lasting signing key (a token sign-in may, and the history says how), or switch
into a privileged role, even one its principal gained since the link was spent."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.e2e.console.test_console_sign_in_link import console_sessions, send_link
from tests.integration.http_fixtures import Api
from tests.support.console import Console, console_session, csrf_of


def public_key() -> str:
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw,
                                                                 PublicFormat.Raw)
    return base64.b64encode(raw).decode()


async def register(console: Console) -> int:
    """POST a fresh public key to /console/keys (CSRF header as the script sends it)."""
    page = await console.get("/console/")
    reply = await console.request("POST", "/console/keys", data={"public_key": public_key()},
                                  headers={"X-CSRF-Token": csrf_of(page.body)})
    return reply.status


async def test_a_link_session_registers_no_key_and_a_token_session_is_recorded_as_such(
        console: Console, site: Api) -> None:
    assert (await console.post_form(await send_link(site), {})).status == 303
    assert await register(console) == 403
    assert (await site.get("/v1/principals/wang.lei/keys", "wang.lei")).json()["keys"] == []
    async with console_session() as session:
        own = Console(site, session)
        await own.sign_in("wang.lei")
        assert await register(own) == 201
    history = (await site.get("/v1/principals/wang.lei/history", "admin")).json()["entries"]
    assert [(e["action"], e["actor_id"], e["method"]) for e in history
            if e["action"] == "key_registered"] == [("key_registered", "wang.lei", "session")]
    by_api = await site.post("/v1/principals/wang.lei/keys", "wang.lei",
                             json={"public_key": public_key()})
    assert by_api.status == 201, by_api.body
    history = (await site.get("/v1/principals/wang.lei/history", "admin")).json()["entries"]
    assert [e["method"] for e in history if e["action"] == "key_registered"] == [
        "session", "bearer"]


async def write(site: Api, sql: str) -> None:
    """Change wang.lei's rows behind the service's back (the site's SQLite file)."""
    async with site.runtime.principals.events.transaction() as db:  # type: ignore[attr-defined]
        await db.execute(sql, ("wang.lei",))


async def test_a_link_session_never_switches_into_a_privileged_role(
        console: Console, site: Api) -> None:
    assert (await console.post_form(await send_link(site), {})).status == 303
    # the principal gains HR (and keeps employee) after the link was spent
    await write(site, "UPDATE principals SET roles = 'employee,hr' WHERE id = ?")
    chooser = await console.get("/console/role")
    assert chooser.status == 200 and b'value="hr"' not in chooser.body
    refused = await console.post_form("/console/role", {"role": "hr"})
    assert refused.status == 403
    assert await console_sessions(site, "wang.lei") == [("wang.lei", "employee", "link")]
    # a stored role it should never hold (written behind the route's back) signs nobody in
    await write(site, "UPDATE console_sessions SET role = 'hr' WHERE principal_id = ?")
    assert (await console.get("/console/")).status == 303
    async with console_session() as session:  # a token sign-in chooses HR as before
        own = Console(site, session)
        await own.sign_in("wang.lei", role="hr")
        assert ("wang.lei", "hr", "token") in await console_sessions(site, "wang.lei")


async def test_the_confirm_form_of_a_link_session_says_why_it_cannot_sign_with_a_key(
        console: Console, site: Api) -> None:
    from tests.support.console import add_item, open_case

    departure_id = await open_case(site)
    item_id = await add_item(site, departure_id)  # zhao.min receives it
    assert (await site.post(f"/v1/items/{item_id}/submit", "wang.lei", json={})).status == 200
    issued = await site.post("/v1/principals/zhao.min/sign-in-links", "hr.sun",
                             json={"departure_id": departure_id})
    path = issued.json()["url"].removeprefix(site.base)
    assert (await console.post_form(path, {})).status == 303
    page = (await console.get(f"/console/items/{item_id}",
                              headers={"Accept-Language": "en"})).body.decode()
    assert "You signed in with a one-time link" in page and 'data-live="sign"' not in page
    async with console_session() as session:
        own = Console(site, session)
        await own.sign_in("zhao.min")
        page = (await own.get(f"/console/items/{item_id}")).body.decode()
        assert 'data-live="sign"' in page and "一次性登录链接" not in page
