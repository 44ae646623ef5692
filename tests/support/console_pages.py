"""Every console page with something to show, for the screenshots: a world of cases made
through the real HTTP API (an open case mid-handover with a rejected, a submitted and an
IAM-reported item; a closed case with a dispute raised on it), and the list of pages, each
with the route that serves it, who looks at it and where."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ledger.sign_in_link import SignInLinkInfo, new_link_secret
from tests.integration.http_fixtures import Api, Reply, departure_body
from tests.support.confirmation import sign_confirmation_over_http

CLIENT_FILE = "客户名单及联系人交接"  # sales: rejected once, to resubmit
NEEDS = "重点客户最新需求及跟进状态"  # sales: submitted, for the receiver to decide
IT_ITEM = "停用企业邮箱并设置转交"  # clearance: the IAM system reported on it


@dataclass(frozen=True)
class World:
    """What the pages show: ids of the cases and items, and a sign-in link's path."""

    open_case: str
    closed_case: str
    items: dict[str, str]
    dispute: str
    link_path: str


@dataclass(frozen=True)
class ConsolePage:
    """A page: its name in the artifacts, the route pattern serving it, who reads it
    (None: nobody signed in) and its path in a world."""

    name: str
    route: str
    who: str | None
    path: Callable[[World], str]


PAGES = (
    ConsolePage("sign-in", "/sign-in", None, lambda w: "/console/sign-in"),
    ConsolePage("sign-in-link", "/sign-in/link/{secret}", None, lambda w: w.link_path),
    ConsolePage("role", "/role", "hr.leaver", lambda w: "/console/role"),
    ConsolePage("dashboard", "/", "hr.sun", lambda w: "/console/"),
    ConsolePage("landing", "/", "wang.lei", lambda w: "/console/"),
    ConsolePage("not-found", "/", "hr.sun", lambda w: "/console/no-such-page"),
    ConsolePage("departure", "/departures/{departure_id}", "hr.sun",
                lambda w: f"/console/departures/{w.open_case}"),
    ConsolePage("departure-timeline", "/departures/{departure_id}/timeline", "hr.sun",
                lambda w: f"/console/departures/{w.open_case}/timeline"),
    ConsolePage("departure-closed", "/departures/{departure_id}", "legal.x",
                lambda w: f"/console/departures/{w.closed_case}"),
    ConsolePage("tasks", "/tasks", "wang.lei", lambda w: "/console/tasks"),
    ConsolePage("item-resubmit", "/items/{item_id}", "wang.lei",
                lambda w: f"/console/items/{w.items[CLIENT_FILE]}"),
    ConsolePage("item-decide", "/items/{item_id}", "zhao.min",
                lambda w: f"/console/items/{w.items[NEEDS]}"),
    ConsolePage("confirmation", "/departures/{departure_id}/confirmation", "wang.lei",
                lambda w: f"/console/departures/{w.open_case}/confirmation"),
    ConsolePage("raise-dispute", "/departures/{departure_id}/disputes", "wang.lei",
                lambda w: f"/console/departures/{w.open_case}/disputes"),
    ConsolePage("dispute", "/disputes/{dispute_id}", "legal.x",
                lambda w: f"/console/disputes/{w.dispute}"),
    ConsolePage("queue-it", "/queues/{department}", "it.qian", lambda w: "/console/queues/it"),
    ConsolePage("reports", "/reports", "hr.sun", lambda w: "/console/reports"),
    ConsolePage("verify", "/verify", "legal.x", lambda w: "/console/verify"),
)


def existing(pages: tuple[ConsolePage, ...], routes: set[str]) -> list[ConsolePage]:
    """The pages whose route the console serves (``routes``: its GET route patterns)."""
    return [page for page in pages if page.route in routes]


def _ok(reply: Reply, status: int = 200) -> dict[str, Any]:
    assert reply.status == status, reply.body[:400]
    found: dict[str, Any] = reply.json()
    return found


async def _case(api: Api, leaver: str, successor: str, last_day: str) -> str:
    """A case HR started for ``leaver`` and the manager approved, with both checklists."""
    started = _ok(await api.post("/v1/departures", "hr.sun", json={
        **departure_body(leaver=leaver, last_day=last_day), "successor_id": successor}), 201)
    departure_id = str(started["result"]["departure_id"])
    _ok(await api.post(f"/v1/departures/{departure_id}/submit", "hr.sun"))
    _ok(await api.post(f"/v1/departures/{departure_id}/approvals/0/approve", "li.qiang"))
    for key in ("sales", "clearance"):
        _ok(await api.post(f"/v1/departures/{departure_id}/templates", "hr.sun",
                           json={"template_key": key}))
    return departure_id


async def _items(api: Api, departure_id: str) -> dict[str, str]:
    board = _ok(await api.read_model(f"/v1/boards/departures/{departure_id}", "hr.sun"))
    return {i["title"]: i["id"] for items in board["categories"].values() for i in items}


async def build_world(api: Api) -> World:
    """The cases every page has something of to show."""
    open_case = await _case(api, "wang.lei", "zhao.min", "2027-01-29")
    items = await _items(api, open_case)
    for title in (CLIENT_FILE, NEEDS):
        _ok(await api.post(f"/v1/items/{items[title]}/submit", "wang.lei",
                           json={"note": "见附件"}))
    _ok(await api.post(f"/v1/items/{items[CLIENT_FILE]}/reject", "zhao.min",
                       json={"reason": "缺少华南区客户的联系人"}))
    _ok(await api.post(f"/v1/items/{items[IT_ITEM]}/external-evidence", "system.iam",
                       json={"source": "Okta", "kind": "account_disabled",
                             "reference": "OKTA-4711"}), 201)
    closed_case = await _case(api, "stranger", "zhao.min", "2026-11-30")
    closed_items = await _items(api, closed_case)
    for title, item_id in closed_items.items():
        _ok(await api.post(f"/v1/items/{item_id}/waive", "hr.sun",
                           json={"reason": f"{title}: 已线下完成"}))
    await sign_confirmation_over_http(api, closed_case)
    _ok(await api.post(f"/v1/departures/{closed_case}/close", "hr.sun"))
    raised = _ok(await api.post("/v1/disputes", "li.qiang", json={
        "departure_id": closed_case, "item_ids": [closed_items[CLIENT_FILE]],
        "claim": "客户名单并未交接，豁免理由不实"}), 201)
    secret, link_hash = new_link_secret()
    now = dt.datetime.now(dt.UTC)
    await api.runtime.principals.add_sign_in_link(link_hash, SignInLinkInfo(
        "screenshots", "zhao.min", "hr.sun", "hr", now, now + dt.timedelta(hours=1),
        open_case))
    await api.sequence()
    await api.runtime.board.catch_up()
    return World(open_case, closed_case, items, str(raised["result"]["dispute_id"]),
                 f"/console/sign-in/link/{secret}")
