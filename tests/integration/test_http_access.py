"""Access that ends, through the real HTTP server on both stores: tokens expire and are
listed and revoked by id, a deactivated principal stops at once, every such act is recorded
with who did it, and failed authentication is rate-limited per client address."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ledger import cli
from ledger.principals import new_token
from tests.integration.http_fixtures import PROBLEM_JSON, Api, Reply, serve

TOKEN_ID = re.compile(r"^[0-9a-f]{16}$")


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


async def issue(api: Api, principal_id: str, **body: Any) -> dict[str, Any]:
    reply = await api.post(f"/v1/principals/{principal_id}/tokens", "admin", json=body)
    assert reply.status == 201, reply.body
    issued: dict[str, Any] = reply.json()
    return issued


async def as_token(api: Api, token: str, path: str = "/v1/templates") -> Reply:
    return await api.get(path, headers={"Authorization": f"Bearer {token}"})


async def delete(api: Api, path: str, who: str) -> Reply:
    return await api.call("DELETE", path, who)


# --- expiry ---------------------------------------------------------------------------------

async def test_a_token_expires_after_the_default_lifetime_or_a_shorter_one_asked_for(
        api: Api) -> None:
    now = dt.datetime.now(dt.UTC)
    default = await issue(api, "zhao.min", label="laptop")
    assert TOKEN_ID.fullmatch(default["token_id"])
    assert abs(_time(default["expires_at"]) - (now + dt.timedelta(days=90))) < dt.timedelta(
        minutes=1)
    week = await issue(api, "zhao.min", label="kiosk", expires_in_days=7)
    assert abs(_time(week["expires_at"]) - (now + dt.timedelta(days=7))) < dt.timedelta(
        minutes=1)
    assert (await as_token(api, week["token"])).status == 200
    for bad in (91, 0, -1, "7", 7.0, True):
        reply = await api.post("/v1/principals/zhao.min/tokens", "admin",
                               json={"expires_in_days": bad})
        assert reply.problem(422)["field"] == "expires_in_days", bad


async def test_an_expired_token_is_refused_like_a_revoked_or_unknown_one(api: Api) -> None:
    token, token_hash = new_token()
    await api.runtime.principals.add_token(
        token_hash, "zhao.min", "old", expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(1))
    expired = (await as_token(api, token)).problem(401)
    unknown = (await as_token(api, new_token()[0])).problem(401)
    assert expired["detail"] == unknown["detail"] == "unknown or revoked token"
    listed = (await api.get("/v1/principals/zhao.min/tokens", "admin")).json()["tokens"]
    assert [(t["label"], t["revoked"], t["active"]) for t in listed] == [
        ("test", False, True), ("old", False, False)]


# --- listing and revoking tokens ------------------------------------------------------------

async def test_tokens_are_listed_without_secrets_by_an_operator_or_their_principal(
        api: Api) -> None:
    issued = await issue(api, "zhao.min", label="phone")
    for who in ("admin", "zhao.min"):
        reply = await api.get("/v1/principals/zhao.min/tokens", who)
        assert reply.status == 200, reply.body
        tokens = reply.json()["tokens"]
        assert [t["label"] for t in tokens] == ["test", "phone"]
        assert tokens[1]["token_id"] == issued["token_id"]
        assert set(tokens[1]) == {"token_id", "label", "created_at", "expires_at", "revoked",
                                  "active"}
        assert b"hl_" not in reply.body
        assert issued["token"].encode() not in reply.body
    for who in ("stranger", "hr.sun", "li.qiang", "it.qian"):
        refused = (await api.get("/v1/principals/zhao.min/tokens", who)).problem(403)
        absent = (await api.get("/v1/principals/nobody.here/tokens", who)).problem(403)
        assert refused["detail"] == absent["detail"]  # nothing about who exists
    (await api.get("/v1/principals/nobody.here/tokens", "admin")).problem(404)


async def test_a_revoked_token_stops_at_once_and_the_principals_other_tokens_keep_working(
        api: Api) -> None:
    first, second = await issue(api, "zhao.min"), await issue(api, "zhao.min")
    path = f"/v1/principals/zhao.min/tokens/{first['token_id']}"
    for who in ("stranger", "hr.sun", "li.qiang"):
        (await delete(api, path, who)).problem(403)
    assert (await as_token(api, first["token"])).status == 200
    revoked = await delete(api, path, "zhao.min")
    assert revoked.json() == {"principal_id": "zhao.min", "id": first["token_id"],
                              "revoked": True}
    assert (await as_token(api, first["token"])).problem(401)["detail"] == (
        "unknown or revoked token")
    assert (await as_token(api, second["token"])).status == 200
    assert (await delete(api, path, "admin")).json()["revoked"] is False
    second_path = f"/v1/principals/zhao.min/tokens/{second['token_id']}"
    assert (await delete(api, second_path, "admin")).json()["revoked"] is True
    assert (await as_token(api, second["token"])).status == 401
    # Another principal's token id, an unknown id, a malformed one: the same 404.
    other = await issue(api, "li.qiang")
    for token_id in (other["token_id"], "0123456789abcdef", "not-an-id", "x" * 500):
        reply = await delete(api, f"/v1/principals/zhao.min/tokens/{token_id}", "admin")
        reply.problem(404)
    assert (await as_token(api, other["token"])).status == 200


# --- deactivation ---------------------------------------------------------------------------

async def test_a_deactivated_principal_loses_every_token_at_once(api: Api) -> None:
    extra = await issue(api, "zhao.min")
    for who in ("hr.sun", "zhao.min", "audit.x", "system.iam"):
        (await api.post("/v1/principals/zhao.min/deactivate", who)).problem(403)
    assert (await api.get("/v1/templates", "zhao.min")).status == 200
    reply = await api.post("/v1/principals/zhao.min/deactivate", "admin")
    assert reply.status == 200, reply.body
    assert reply.json() == {"principal_id": "zhao.min", "active": False, "tokens_revoked": 2}
    for token in (api.tokens["zhao.min"], extra["token"]):
        assert (await as_token(api, token)).problem(401)["detail"] == "unknown or revoked token"
    again = await api.post("/v1/principals/zhao.min/deactivate", "admin")
    assert again.json()["tokens_revoked"] == 0
    refused = await api.post("/v1/principals/zhao.min/tokens", "admin", json={})
    assert refused.problem(422)["field"] == "principal_id"
    listed = (await api.get("/v1/principals/zhao.min/tokens", "admin")).json()["tokens"]
    assert len(listed) == 2 and all(t["revoked"] and not t["active"] for t in listed)
    (await api.post("/v1/principals/nobody.here/deactivate", "admin")).problem(404)
    assert "another operator" in (
        await api.post("/v1/principals/admin/deactivate", "admin")).problem(403)["detail"]
    assert (await api.get("/v1/templates", "admin")).status == 200


# --- history --------------------------------------------------------------------------------

async def test_every_act_on_access_is_recorded_with_who_did_it_and_when(api: Api) -> None:
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    issued = await issue(api, "zhao.min", label="phone")
    await delete(api, f"/v1/principals/zhao.min/tokens/{issued['token_id']}", "zhao.min")
    own = await api.get("/v1/principals/zhao.min/history", "zhao.min")
    assert own.status == 200, own.body
    for who in ("stranger", "hr.sun"):
        (await api.get("/v1/principals/zhao.min/history", who)).problem(403)
    await api.post("/v1/principals/zhao.min/deactivate", "admin")
    history = (await api.get("/v1/principals/zhao.min/history", "admin")).json()
    entries = history["entries"]
    assert [(e["action"], e["subject"], e["actor_id"], e["actor_role"]) for e in entries] == [
        ("token_issued", entries[0]["subject"], "system:ledger", "operator"),  # the fixture's
        ("token_issued", issued["token_id"], "admin", "operator"),
        ("token_revoked", issued["token_id"], "zhao.min", "employee"),
        ("principal_deactivated", None, "admin", "operator")]
    assert all(before <= _time(e["at"]) <= dt.datetime.now(dt.UTC) for e in entries)
    (await api.get("/v1/principals/nobody.here/history", "admin")).problem(404)


async def test_the_cli_lists_and_revokes_tokens_and_deactivates_principals(
        api: Api, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    issued = await issue(api, "zhao.min", label="cli-test")

    async def ledger(*argv: str) -> str:
        code = await asyncio.to_thread(cli.main, ["--database", database_url, *argv])
        captured = capsys.readouterr()
        assert code == 0, captured
        return captured.out

    listing = await ledger("tokens", "list", "zhao.min")
    assert issued["token_id"] in listing and "active" in listing
    assert issued["token"] not in listing and "hl_" not in listing
    assert "revoked" in await ledger("tokens", "revoke", "zhao.min", issued["token_id"])
    assert (await as_token(api, issued["token"])).status == 401
    assert (await as_token(api, api.tokens["li.qiang"])).status == 200
    assert "1 token(s) revoked" in await ledger("principals", "deactivate", "li.qiang")
    assert (await as_token(api, api.tokens["li.qiang"])).status == 401
    history = await ledger("principals", "history", "zhao.min")
    assert "token_revoked" in history and "by system:ledger (operator)" in history
    fresh = (await ledger("tokens", "issue", "zhao.min", "--expires-in-days", "3")).strip()
    assert (await as_token(api, fresh)).status == 200


# --- rate limit -----------------------------------------------------------------------------

async def _from(address: str, api: Api, token: str) -> Reply:
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(connector=connector) as session, session.get(
            api.base + "/v1/templates", headers={"Authorization": f"Bearer {token}"}) as r:
        return Reply(r.status, r.headers, await r.read())


@pytest.fixture
async def limited(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with serve(database_url, tmp_path, auth_failure_limit=5,
                     auth_failure_window=2) as served:
        yield served


async def test_failed_authentication_is_limited_per_client_address(limited: Api) -> None:
    api, bad = limited, new_token()[0]
    for _ in range(50):  # successes never count
        assert (await as_token(api, api.tokens["hr.sun"])).status == 200
    for _ in range(5):
        (await as_token(api, bad)).problem(401)
    blocked = (await as_token(api, bad))
    assert blocked.problem(429)["title"] == "Too many requests"
    assert 1 <= int(blocked.headers["Retry-After"]) <= 2
    # While limited, the address is refused before any lookup, good token or not ...
    (await as_token(api, api.tokens["hr.sun"])).problem(429)
    # ... but other addresses are not affected, and public paths stay open.
    assert (await _from("127.0.0.2", api, api.tokens["hr.sun"])).status == 200
    (await _from("127.0.0.3", api, bad)).problem(401)
    assert (await api.get("/healthz")).status == 200
    await asyncio.sleep(2.1)  # the window passes
    assert (await as_token(api, api.tokens["hr.sun"])).status == 200
    (await as_token(api, bad)).problem(401)


async def test_requests_without_credentials_are_not_counted(limited: Api) -> None:
    for _ in range(20):
        reply = await limited.get("/v1/templates")
        assert reply.status == 401 and reply.content_type == PROBLEM_JSON
    assert (await as_token(limited, limited.tokens["hr.sun"])).status == 200
