"""Issue 9 over HTTP on both stores: items required first (004: "方能进入下一环"), receivers'
deadlines in PRC working days with their escalation (002: "接收方需在3个工作日内确认"), and
questions answered by their addressee, unanswered ones warned of at close (003:
"老刘需要在离职前完成所有问题的解答")."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from ledger.service import commands as c
from ledger.service import item_cases
from ledger.service.context import Actor, RequestContext
from ledger.service.unit_of_work import UnitOfWork
from ledger.store.port import DependencyChangedError
from tests.integration.http_fixtures import Api, departure_body
from tests.support.confirmation import sign_confirmation_over_http


async def approved(api: Api) -> str:
    reply = await api.post("/v1/departures", "hr.sun", json=departure_body())
    assert reply.status == 201, reply.body
    departure_id: str = reply.json()["result"]["departure_id"]
    assert (await api.post(f"/v1/departures/{departure_id}/submit", "hr.sun")).status == 200
    assert (await api.post(f"/v1/departures/{departure_id}/approvals/0/approve",
                           "li.qiang")).status == 200
    return departure_id


async def add_item(api: Api, departure_id: str, title: str, **fields: Any) -> str:
    reply = await api.post(f"/v1/departures/{departure_id}/items", "hr.sun", json={
        "category": "assets", "title": title, "receiver": "zhao.min", **fields})
    assert reply.status == 201, reply.body
    item_id: str = reply.json()["result"]["item_id"]
    return item_id


async def item_view(api: Api, item_id: str, who: str = "hr.sun") -> dict[str, Any]:
    reply = await api.get(f"/v1/items/{item_id}", who)
    assert reply.status == 200, reply.body
    view: dict[str, Any] = reply.json()
    return view


async def payloads(api: Api, stream_id: str) -> list[tuple[str, dict[str, Any]]]:
    reply = await api.get(f"/v1/streams/{stream_id}/events", "hr.sun")
    assert reply.status == 200, reply.body
    entries = [json.loads(e["entry"]) for e in reply.json()["items"]]
    return [(e["type"], e["payload"]) for e in entries]


def at(year: int, month: int, day: int, hour: int = 2) -> dt.datetime:
    """An instant in UTC (02:00 UTC is 10:00 in Beijing)."""
    return dt.datetime(year, month, day, hour, tzinfo=dt.UTC)


# --- dependencies ------------------------------------------------------------------------------

async def test_an_item_is_submitted_and_confirmed_only_after_the_items_it_requires(
        api: Api) -> None:
    departure_id = await approved(api)
    review = await add_item(api, departure_id, "笔记本电脑资料审查")
    wipe = await add_item(api, departure_id, "设备数据擦除", requires=[review])
    assert (await item_view(api, wipe))["requires"] == [review]

    refused = await api.post(f"/v1/items/{wipe}/submit", "wang.lei", json={})
    assert review in refused.problem(409)["detail"]
    assert (await api.post(f"/v1/items/{review}/submit", "wang.lei", json={})).status == 200
    assert (await api.post(f"/v1/items/{wipe}/submit", "wang.lei", json={})).status == 409
    assert (await api.post(f"/v1/items/{review}/confirm", "zhao.min", json={})).status == 200
    assert (await api.post(f"/v1/items/{wipe}/submit", "wang.lei", json={})).status == 200
    assert (await api.post(f"/v1/items/{wipe}/confirm", "zhao.min", json={})).status == 200


async def test_an_item_may_require_only_items_of_its_own_departure(api: Api) -> None:
    other = await add_item(api, await approved(api), "另一个案子的事项")
    departure_id = await approved(api)

    refused = await api.post(f"/v1/departures/{departure_id}/items", "hr.sun", json={
        "category": "assets", "title": "擦除", "receiver": "zhao.min", "requires": [other]})

    assert refused.problem(422)["detail"].startswith("required items are not items")


async def test_the_required_items_are_read_dependencies_of_the_submission(api: Api) -> None:
    departure_id = await approved(api)
    review = await add_item(api, departure_id, "审查")
    wipe = await add_item(api, departure_id, "擦除", requires=[review])
    assert (await api.post(f"/v1/items/{review}/waive", "hr.sun",
                           json={"reason": "no laptop"})).status == 200
    uow = UnitOfWork(api.runtime.store)

    leaver = Actor("wang.lei", "employee")
    await item_cases.submit_item(c.SubmitItem(item_id=wipe),  # type: ignore[arg-type]
                                 leaver, uow)
    events = uow.collect(leaver, RequestContext())

    depended = {str(d.stream_id) for d in uow.read_dependencies()}
    assert depended == {departure_id, review}  # the departure's, and the required item's
    # The required item moves before the submission commits: the store refuses the append
    # (Ledger.execute would then decide the submission once more, on fresh state).
    assert (await api.post(f"/v1/items/{review}/comments", "hr.sun",
                           json={"text": "no laptop was issued"})).status == 201
    with pytest.raises(DependencyChangedError):
        await api.runtime.store.append(events, None, uow.read_dependencies())


async def test_a_checklist_requires_items_by_key_resolved_when_applied(api: Api) -> None:
    items = [{"key": key, "category": "assets", "title": key, "label": "",
              "acceptance_criteria": "", "receiver": "successor", "mandatory": True,
              "priority": "normal", "due_offset_days": 0, **more}
             for key, more in (("device-wipe", {"requires": ["laptop-review", "elsewhere"]}),
                               ("laptop-review", {"confirm_within_working_days": 3}))]
    circle = [{**items[0], "requires": ["laptop-review"]},
              {**items[1], "requires": ["device-wipe"]}]
    refused = await api.post("/v1/templates", "hr.sun", json={
        "key": "circle", "role_family": "technical", "name": "圆", "label": "", "items": circle})
    assert "circle" in refused.problem(422)["errors"][0]["message"]
    defined = await api.post("/v1/templates", "hr.sun", json={
        "key": "laptop-flow", "role_family": "technical", "name": "设备", "label": "",
        "items": items})
    assert defined.status == 200, defined.body
    departure_id = await approved(api)

    applied = await api.post(f"/v1/departures/{departure_id}/templates", "hr.zhou", json={
        "template_key": "laptop-flow", "successor_id": "zhao.min"})

    assert applied.status == 200, applied.body
    wipe, review = applied.json()["result"]["item_ids"]  # in checklist order
    wiped = await item_view(api, wipe)
    assert wiped["requires"] == [review]
    assert wiped["unresolved_requires"] == ["elsewhere"]
    assert (await item_view(api, review))["confirm_within_working_days"] == 3


# --- deadlines and escalation ------------------------------------------------------------------

async def test_a_deadline_counts_working_days_across_the_national_day_and_is_escalated(
        api: Api) -> None:
    ledger = api.runtime.ledger
    departure_id = await approved(api)
    item_id = await add_item(api, departure_id, "风险清单", confirm_within_working_days=3,
                             escalate_to="manager")
    ledger.clock = lambda: at(2025, 9, 30)

    assert (await api.post(f"/v1/items/{item_id}/submit", "wang.lei", json={})).status == 200

    # 1–8 October are off; Thu 9, Fri 10 and Saturday 11 October (调休) are working days.
    view = await item_view(api, item_id)
    assert (view["confirm_by"], view["overdue_confirmation"]) == ("2025-10-11", False)
    assert payloads_of_type(await payloads(api, item_id), "ItemSubmitted")["confirm_by"] == (
        "2025-10-11")
    early = await api.post(f"/v1/items/{item_id}/escalations", "hr.sun", json={})
    assert "not overdue" in early.problem(409)["detail"]

    ledger.clock = lambda: at(2025, 10, 12)
    assert (await item_view(api, item_id))["overdue_confirmation"] is True
    assert (await api.post(f"/v1/items/{item_id}/escalations", "stranger",
                           json={})).status == 403
    assert (await api.post(f"/v1/items/{item_id}/escalations", "system.iam",
                           json={})).status == 403  # an integration speaks for no case
    escalated = await api.post(f"/v1/items/{item_id}/escalations", "hr.sun",
                               json={"channel": "wecom", "message": "三个工作日已过"})
    assert escalated.status == 201, escalated.body
    assert escalated.json()["result"]["escalated_to"] == "li.qiang"
    again = await api.post(f"/v1/items/{item_id}/escalations", "hr.sun", json={})
    assert "already escalated" in again.problem(409)["detail"]
    assert (await item_view(api, item_id))["escalated"] is True
    assert payloads_of_type(await payloads(api, item_id), "ItemConfirmationEscalated") == {
        "by": "hr.sun", "to": "li.qiang", "receiver": "zhao.min", "submission": 1,
        "confirm_by": "2025-10-11", "overdue_on": "2025-10-12", "channel": "wecom",
        "message": "三个工作日已过"}


def payloads_of_type(events: list[tuple[str, dict[str, Any]]], kind: str) -> dict[str, Any]:
    return next(p for t, p in events if t == kind)


# --- questions ---------------------------------------------------------------------------------

async def test_questions_are_answered_by_their_addressee_and_warned_of_at_close(
        api: Api) -> None:
    departure_id = await approved(api)
    item_id = await add_item(api, departure_id, "客户资料")
    base = f"/v1/items/{item_id}"
    asked = await api.post(base + "/comments", "zhao.min", json={
        "text": "客户最新需求在哪里?", "question_to": "wang.lei"})
    assert asked.status == 201, asked.body
    assert asked.json()["result"]["question_id"] == "1"
    assert asked.json()["events"][0]["type"] == "ItemQuestionAsked"
    outsider = await api.post(base + "/comments", "zhao.min", json={
        "text": "?", "question_to": "stranger"})
    assert outsider.problem(422)["detail"].startswith("question_to")
    queue = await api.post(base + "/comments", "zhao.min", json={
        "text": "?", "question_to": "dept:it"})  # not this item's queue
    assert queue.problem(422)["detail"].startswith("question_to")
    second = await api.post(base + "/comments", "hr.sun", json={
        "text": "合同原件?", "question_to": "wang.lei"})
    assert second.json()["result"]["question_id"] == "2"

    assert (await api.post(base + "/questions/1/answer", "stranger",
                           json={"text": "x"})).status == 404
    assert (await api.post(base + "/questions/1/answer", "li.qiang",
                           json={"text": "x"})).status == 403
    answered = await api.post(base + "/questions/1/answer", "wang.lei",
                              json={"text": "CRM 里的'需求'页"})
    assert answered.status == 200, answered.body
    assert (await api.post(base + "/questions/9/answer", "wang.lei",
                           json={"text": "x"})).status == 409
    view = await item_view(api, item_id, "wang.lei")
    assert [(q["question_id"], q["answer"]) for q in view["questions"]] == [
        ("1", "CRM 里的'需求'页"), ("2", None)]

    assert (await api.post(base + "/submit", "wang.lei", json={})).status == 200
    assert (await api.post(base + "/confirm", "zhao.min", json={})).status == 200
    await sign_confirmation_over_http(api, departure_id)
    closed = await api.post(f"/v1/departures/{departure_id}/close", "hr.sun", json={})
    assert closed.status == 200, closed.body
    warning = {"item_id": item_id, "question_id": "2", "by": "hr.sun", "to": "wang.lei"}
    assert closed.json()["result"]["warnings"] == [warning]
    assert payloads_of_type(await payloads(api, departure_id), "DepartureClosed")[
        "warnings"] == [warning]
    board = await api.get(f"/v1/departures/{departure_id}", "hr.sun")
    assert board.json()["close_warnings"] == [warning]


async def test_a_key_required_before_its_checklist_is_applied_is_linked_when_it_is(
        api: Api) -> None:
    def line(key: str, requires: list[str]) -> dict[str, Any]:
        return {"key": key, "category": "assets", "title": key, "label": "",
                "acceptance_criteria": "", "receiver": "successor", "mandatory": True,
                "priority": "normal", "due_offset_days": 0, "requires": requires}

    for key, items in (("wipe-first", [line("device-wipe", ["laptop-review"])]),
                       ("review-later", [line("laptop-review", [])]),
                       ("review-circle", [line("laptop-review", ["device-wipe"])])):
        defined = await api.post("/v1/templates", "hr.zhou", json={
            "key": key, "role_family": "technical", "name": key, "label": "", "items": items})
        assert defined.status == 200, defined.body
    departure_id, circled = await approved(api), await approved(api)
    apply = f"/v1/departures/{departure_id}/templates"
    body = {"successor_id": "zhao.min"}
    [wipe] = (await api.post(apply, "hr.sun", json={**body, "template_key": "wipe-first"})
              ).json()["result"]["item_ids"]
    assert (await item_view(api, wipe))["unresolved_requires"] == ["laptop-review"]

    applied = await api.post(apply, "hr.sun", json={**body, "template_key": "review-later"})

    [review] = applied.json()["result"]["item_ids"]
    assert "ItemRequirementsLinked" in [e["type"] for e in applied.json()["events"]]
    wiped = await item_view(api, wipe)
    assert (wiped["requires"], wiped["unresolved_requires"]) == ([review], [])
    assert (await api.post(f"/v1/items/{wipe}/submit", "wang.lei", json={})).status == 409
    # The same two checklists the other way round would make a circle: refused whole.
    apply = f"/v1/departures/{circled}/templates"
    assert (await api.post(apply, "hr.sun", json={**body, "template_key": "wipe-first"})
            ).status == 200
    refused = await api.post(apply, "hr.sun", json={**body, "template_key": "review-circle"})
    assert "circle" in refused.problem(422)["detail"]
    assert len((await api.get(f"/v1/departures/{circled}", "hr.sun")).json()["item_ids"]) == 1
