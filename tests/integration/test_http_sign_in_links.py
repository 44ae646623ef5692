"""One-time sign-in links through the real HTTP server on both stores: who may send one to
whom, the address shown once, the listing without secrets, revocation, and the principal
history that records each issue and use."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from ledger import cli
from ledger.errors import UnauthenticatedError
from ledger.service.context import RequestContext
from ledger.service.sign_in_link_cases import redeem_sign_in_link
from ledger.sign_in_link import LINK_PATH
from tests.integration.http_fixtures import Api, departure_body
from tests.support.case_steps import add_item
from tests.support.confirmation import sign_confirmation_over_http

LINKS = "/v1/principals/{}/sign-in-links"
PHONE = RequestContext(ip="192.0.2.8", user_agent="Mozilla/5.0 (iPhone)", auth="link")


async def start(api: Api, leaver: str = "wang.lei", hr_owner: str = "hr.sun",
                approved: bool = True) -> str:
    """A case hr.sun starts for ``leaver``; with ``approved``, submitted and approved (a link
    is sent only for a case that left draft)."""
    body = departure_body(leaver=leaver) | {"hr_owner_id": hr_owner}
    reply = await api.post("/v1/departures", "hr.sun", json=body)
    assert reply.status == 201, reply.body
    departure_id: str = reply.json()["result"]["departure_id"]
    if approved:
        assert (await api.post(f"/v1/departures/{departure_id}/submit", "hr.sun")).status == 200
        assert (await api.post(f"/v1/departures/{departure_id}/approvals/0/approve",
                               "li.qiang")).status == 200
    return departure_id


async def issue(api: Api, principal_id: str, who: str = "hr.sun",
                **body: Any) -> dict[str, Any]:
    reply = await api.post(LINKS.format(principal_id), who, json=body)
    assert reply.status == 201, reply.body
    assert reply.headers["Cache-Control"] == "no-store"
    issued: dict[str, Any] = reply.json()
    return issued


async def settled(api: Api) -> None:
    """The board has read every case so far (``ledger serve`` runs its worker)."""
    await api.sequence()
    await api.runtime.board.catch_up()


def secret_of(issued: dict[str, Any]) -> str:
    url: str = issued["url"]
    return url.split(LINK_PATH, 1)[1]


async def test_hr_sends_the_leaver_of_their_case_a_link_that_signs_them_in_once(
        api: Api) -> None:
    departure_id = await start(api)
    before = dt.datetime.now(dt.UTC)
    issued = await issue(api, "wang.lei", departure_id=departure_id)
    assert issued["url"].startswith(api.base + LINK_PATH + "hll_")
    link = issued["link"]
    assert (link["issued_by"], link["issued_role"], link["departure_id"], link["state"]) == (
        "hr.sun", "hr", departure_id, "unused")
    lifetime = dt.datetime.fromisoformat(link["expires_at"]) - before
    assert dt.timedelta(minutes=29) < lifetime <= dt.timedelta(minutes=30, seconds=5)
    principal = await redeem_sign_in_link(api.runtime.principals, secret_of(issued), PHONE)
    assert principal.id == "wang.lei"
    await settled(api)
    listed = (await api.get(LINKS.format("wang.lei"), "hr.sun")).json()["links"]
    assert [(k["link_id"], k["state"], k["used_ip"], k["used_user_agent"]) for k in listed] == [
        (link["link_id"], "used", "192.0.2.8", "Mozilla/5.0 (iPhone)")]
    assert b"hll_" not in (await api.get(LINKS.format("wang.lei"), "wang.lei")).body
    history = (await api.get("/v1/principals/wang.lei/history", "wang.lei")).json()["entries"]
    assert [(e["action"], e["subject"], e["actor_id"]) for e in history][-2:] == [
        ("sign_in_link_issued", link["link_id"], "hr.sun"),
        ("sign_in_link_used", link["link_id"], "wang.lei")]


async def test_used_expired_revoked_and_unknown_links_are_refused_alike(api: Api) -> None:
    await start(api)
    await settled(api)
    used = secret_of(await issue(api, "wang.lei"))
    await redeem_sign_in_link(api.runtime.principals, used, PHONE)
    short = await issue(api, "wang.lei", expires_in_minutes=1)
    revoked = await issue(api, "wang.lei")
    path = LINKS.format("wang.lei") + "/" + revoked["link"]["link_id"]
    assert (await api.call("DELETE", path, "hr.sun")).json()["revoked"] is True
    assert (await api.call("DELETE", path, "hr.sun")).json()["revoked"] is False
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)
    for secret, now in ((used, None), (secret_of(short), later), (secret_of(revoked), None),
                        ("hll_" + "x" * 43, None), ("hl_not-a-link", None), ("", None)):
        with pytest.raises(UnauthenticatedError,
                           match=r"^unknown, used, revoked or expired sign-in link$"):
            await redeem_sign_in_link(api.runtime.principals, secret, PHONE, now=now)
    assert (await redeem_sign_in_link(api.runtime.principals, secret_of(short),
                                      PHONE)).id == "wang.lei"


async def test_a_leaver_cannot_issue_links_and_a_receiver_is_reached_through_an_item(
        api: Api) -> None:
    departure_id = await start(api)
    for who in ("wang.lei", "li.qiang", "legal.x", "it.qian", "audit.x"):
        reply = await api.post(LINKS.format("wang.lei"), who, json={})
        assert reply.problem(403)["detail"].endswith("may not send sign-in links"), who
    (await api.post(LINKS.format("zhao.min"), "hr.sun", json={})).problem(404)
    item = await api.post(f"/v1/departures/{departure_id}/items", "hr.sun", json={
        "category": "clients", "title": "客户资料", "receiver": "zhao.min"})
    assert item.status == 201, item.body
    await settled(api)
    issued = await issue(api, "zhao.min")  # found through the board: zhao.min receives an item
    assert issued["link"]["departure_id"] == departure_id
    manager = await issue(api, "li.qiang", departure_id=departure_id)
    assert manager["link"]["departure_id"] == departure_id


async def test_hr_never_links_a_privileged_principal_and_unrelated_hr_learns_nothing(
        api: Api) -> None:
    hr_leaving = await start(api, leaver="hr.leaver")
    reply = await api.post(LINKS.format("hr.leaver"), "hr.sun",
                           json={"departure_id": hr_leaving})
    assert "hr" in reply.problem(403)["detail"]
    for privileged in ("hr.zhou", "legal.x", "adm.wu", "audit.x", "system.iam"):
        assert (await api.post(LINKS.format(privileged), "admin", json={})).status == 403
    departure_id = await start(api)
    await settled(api)
    # hr.zhou runs none of wang.lei's cases: as if wang.lei did not exist, case or no case
    unrelated = await api.post(LINKS.format("wang.lei"), "hr.zhou", json={})
    missing = await api.post(LINKS.format("nobody.here"), "hr.zhou", json={})
    assert unrelated.problem(404)["detail"] == "principal 'wang.lei' not found"
    assert missing.problem(404)["title"] == unrelated.problem(404)["title"]
    named = await api.post(LINKS.format("wang.lei"), "hr.zhou",
                           json={"departure_id": departure_id})
    assert named.problem(404)["detail"] == f"{departure_id} not found"
    assert (await api.get(LINKS.format("wang.lei"), "hr.zhou")).status == 404
    stranger = await api.post(LINKS.format("stranger"), "hr.sun",
                              json={"departure_id": departure_id})
    assert stranger.problem(422)["field"] == "departure_id"


async def test_a_draft_or_pending_or_withdrawn_case_never_carries_a_link(api: Api) -> None:
    # A draft is HR's alone: naming someone in it must not let HR sign in as them.
    draft = await start(api, approved=False)
    await settled(api)
    cited = await api.post(LINKS.format("wang.lei"), "hr.sun", json={"departure_id": draft})
    assert cited.problem(422)["field"] == "departure_id"
    assert "draft" in cited.problem(422)["detail"]
    assert (await api.post(LINKS.format("wang.lei"), "hr.sun", json={})).status == 404
    assert (await api.post(f"/v1/departures/{draft}/submit", "hr.sun")).status == 200
    pending = await api.post(LINKS.format("wang.lei"), "hr.sun", json={"departure_id": draft})
    assert "pending_approval" in pending.problem(422)["detail"]
    assert (await api.post(f"/v1/departures/{draft}/approvals/0/approve",
                           "li.qiang")).status == 200
    await issue(api, "wang.lei", departure_id=draft)
    withdrawn = await api.post(f"/v1/departures/{draft}/withdraw", "hr.sun",
                               json={"reason": "stays"})
    assert withdrawn.status == 200, withdrawn.body
    await settled(api)
    gone = await api.post(LINKS.format("wang.lei"), "hr.sun", json={"departure_id": draft})
    assert "withdrawn" in gone.problem(422)["detail"]
    assert (await api.post(LINKS.format("wang.lei"), "hr.sun", json={})).status == 404
    assert [k["state"] for k in (await api.get(LINKS.format("wang.lei"),
                                               "admin")).json()["links"]] == ["revoked"]


async def test_withdrawing_or_closing_a_case_revokes_its_unused_links_and_records_it(
        api: Api) -> None:
    withdrawn, closed, still_open = await start(api), await start(api), await start(api)
    gone = await issue(api, "wang.lei", departure_id=withdrawn)
    spent = await issue(api, "li.qiang", departure_id=withdrawn)
    await redeem_sign_in_link(api.runtime.principals, secret_of(spent), PHONE)
    ended = await issue(api, "wang.lei", departure_id=closed)
    kept = await issue(api, "wang.lei", departure_id=still_open)
    reply = await api.post(f"/v1/departures/{withdrawn}/withdraw", "hr.sun",
                           json={"reason": "stays"})
    assert reply.status == 200, reply.body
    waived = await add_item(api, closed)  # handing over, then nothing left to do
    assert (await api.post(f"/v1/items/{waived}/waive", "hr.sun",
                           json={"reason": "not needed"})).status == 200
    await sign_confirmation_over_http(api, closed)
    assert (await api.post(f"/v1/departures/{closed}/close", "hr.sun")).status == 200
    for refused in (gone, ended):
        with pytest.raises(UnauthenticatedError):
            await redeem_sign_in_link(api.runtime.principals, secret_of(refused), PHONE)
    states = {k["link_id"]: k["state"] for who in ("wang.lei", "li.qiang") for k in (
        await api.get(LINKS.format(who), "admin")).json()["links"]}
    assert states == {gone["link"]["link_id"]: "revoked", spent["link"]["link_id"]: "used",
                      ended["link"]["link_id"]: "revoked", kept["link"]["link_id"]: "unused"}
    history = (await api.get("/v1/principals/wang.lei/history", "wang.lei")).json()["entries"]
    assert [(e["action"], e["subject"], e["actor_id"], e["actor_role"]) for e in history
            if e["action"] == "sign_in_link_revoked"] == [
        ("sign_in_link_revoked", gone["link"]["link_id"], "hr.sun", "hr"),
        ("sign_in_link_revoked", ended["link"]["link_id"], "hr.sun", "hr")]
    principal = await redeem_sign_in_link(api.runtime.principals, secret_of(kept), PHONE)
    assert principal.id == "wang.lei"


async def test_operators_issue_for_anyone_unprivileged_within_the_lifetime_limits(
        api: Api) -> None:
    issued = await issue(api, "stranger", "admin", expires_in_minutes=24 * 60)
    lifetime = (dt.datetime.fromisoformat(issued["link"]["expires_at"])
                - dt.datetime.fromisoformat(issued["link"]["issued_at"]))
    assert lifetime == dt.timedelta(hours=24)
    assert issued["link"]["departure_id"] is None
    for bad in (0, 24 * 60 + 1, "30", 30.0, True):
        reply = await api.post(LINKS.format("stranger"), "admin",
                               json={"expires_in_minutes": bad})
        assert reply.problem(422)["field"] == "expires_in_minutes", bad
    (await api.post(LINKS.format("nobody.here"), "admin", json={})).problem(404)
    assert (await api.post("/v1/principals/stranger/deactivate", "admin")).status == 200
    assert (await api.post(LINKS.format("stranger"), "admin", json={})).status == 422
    [revoked] = (await api.get(LINKS.format("stranger"), "admin")).json()["links"]
    assert revoked["state"] == "revoked"


async def test_an_idempotent_replay_never_shows_the_address_again(api: Api) -> None:
    key = {"Idempotency-Key": "link-once"}
    first = await api.post(LINKS.format("stranger"), "admin", json={}, headers=key)
    again = await api.post(LINKS.format("stranger"), "admin", json={}, headers=key)
    assert first.json()["url"] and again.json()["url"] is None
    assert again.json()["link"] == first.json()["link"]


async def test_the_cli_prints_a_link_once_and_the_history_names_it(
        api: Api, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    async def ledger(*argv: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(cli.main, ["--database", database_url, *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    code, out, err = await ledger("sign-in-link", "stranger", "--expires-in-minutes", "45",
                                  "--base-url", "https://ledger.example.com/")
    assert code == 0, err
    url = out.strip()
    assert url.startswith("https://ledger.example.com" + LINK_PATH + "hll_")
    assert "single use" in err and url not in err
    principal = await redeem_sign_in_link(api.runtime.principals, url.split(LINK_PATH)[1],
                                          PHONE)
    assert principal.id == "stranger"
    code, out, _ = await ledger("principals", "history", "stranger")
    assert code == 0 and "sign_in_link_issued" in out and "by system:ledger (operator)" in out
    assert "sign_in_link_used" in out and "hll_" not in out
    code, _, err = await ledger("sign-in-link", "stranger")  # no LEDGER_PUBLIC_URL here
    assert code == 2 and "LEDGER_PUBLIC_URL" in err
    code, _, err = await ledger("sign-in-link", "hr.zhou", "--base-url", "https://l.example")
    assert code == 2 and "no sign-in link for a principal holding the role(s) hr" in err


async def test_a_case_withdrawn_in_a_batch_revokes_its_unused_links_too(api: Api) -> None:
    withdrawn = await start(api)
    gone = await issue(api, "wang.lei", departure_id=withdrawn)
    reply = await api.post("/v1/commands", "hr.sun", json={"commands": [{"command": {
        "type": "withdraw_departure", "departure_id": withdrawn, "reason": "stays"}}]})
    assert [r["status"] for r in reply.json()["results"]] == [200], reply.body
    with pytest.raises(UnauthenticatedError):
        await redeem_sign_in_link(api.runtime.principals, secret_of(gone), PHONE)
    history = (await api.get("/v1/principals/wang.lei/history", "wang.lei")).json()["entries"]
    assert [(e["action"], e["subject"], e["actor_id"]) for e in history
            if e["action"] == "sign_in_link_revoked"] == [
        ("sign_in_link_revoked", gone["link"]["link_id"], "hr.sun")]
