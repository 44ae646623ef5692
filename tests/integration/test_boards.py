"""The board projection over HTTP on both stores: a case's board, the HR dashboard sorted by
risk with each alert's reason, who may read them, read-your-writes by log position, and a
rebuild that swaps in identical tables."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ledger.projections import board_queries as bq
from tests.conftest import drain
from tests.integration.http_fixtures import HR as HR_ACTOR
from tests.integration.http_fixtures import Api
from tests.integration.test_http_api import approved
from tests.support.case_steps import add_item
from tests.support.counting import CountingProjector
from tests.support.sse import next_event

TODAY = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)  # two days before the last day


async def settled(api: Api) -> int:
    """Sequence everything; the log size the board must reach."""
    await drain(api.runtime.sequencer)
    await api.runtime.board.catch_up()  # its worker runs in ``ledger serve``
    checkpoint = await api.runtime.log.latest_checkpoint()
    assert checkpoint is not None
    return checkpoint.size


async def board(api: Api, departure_id: str, who: str = "hr.sun") -> dict[str, Any]:
    size = await settled(api)
    reply = await api.get(f"/v1/boards/departures/{departure_id}?min_position={size}", who)
    assert reply.status == 200, reply.body
    assert reply.json()["position"] >= size
    result: dict[str, Any] = reply.json()
    return result


async def risky_case(api: Api) -> tuple[str, str, str]:
    api.runtime.ledger.clock = lambda: TODAY
    departure_id = await approved(api)
    clients = await add_item(api, departure_id, title="客户资料", due_date="2026-11-20")
    laptop = await add_item(api, departure_id, receiver="li.qiang",
                            category="assets", title="笔记本电脑")
    assert (await api.post(f"/v1/items/{clients}/submit", "wang.lei", json={})).status == 200
    rejected = await api.post(f"/v1/items/{clients}/reject", "zhao.min",
                              json={"reason": "缺少三期需求"})
    assert rejected.status == 200, rejected.body
    return departure_id, clients, laptop


async def test_a_cases_board_shows_items_blocking_overdue_and_risk_with_reasons(
        api: Api) -> None:
    departure_id, clients, laptop = await risky_case(api)
    seen = await board(api, departure_id)
    summary = seen["departure"]
    assert (summary["state"], summary["mandatory_total"], summary["mandatory_done"],
            summary["percent_done"]) == ("handing_over", 2, 0, 0)
    assert summary["risk"] == "high"
    assert [r["rule"] for r in summary["risk_reasons"]] == ["last_day_near", "item_overdue"]
    assert "2026-11-30" in summary["risk_reasons"][0]["why"]
    assert summary["risk_reasons"][0]["figures"] == {
        "last_working_day": "2026-11-30", "done": 0, "total": 2}  # for a reader to word
    assert [i["title"] for i in seen["categories"]["clients"]] == ["客户资料"]
    item = seen["categories"]["clients"][0]
    assert (item["state"], item["rejections"], item["last_decision"]["kind"],
            item["last_decision"]["reason"]) == ("rejected", 1, "rejected", "缺少三期需求")
    assert {b["id"] for b in seen["blocking"]} == {clients, laptop}
    assert [o["id"] for o in seen["overdue"]] == [clients]
    # whoever works an item reads the board, with only their items; a stranger learns nothing
    theirs = await board(api, departure_id, "zhao.min")
    assert theirs["departure"]["id"] == departure_id
    assert list(theirs["categories"]) == ["clients"]  # not the manager's laptop
    assert {b["id"] for b in theirs["blocking"]} == {clients}
    assert set((await board(api, departure_id, "li.qiang"))["categories"]) == {
        "clients", "assets"}  # the manager reads the whole case
    hidden = await api.get(f"/v1/boards/departures/{departure_id}", "stranger")
    assert hidden.problem(404)["detail"] == f"{departure_id} not found"


async def test_the_hr_dashboard_sorts_by_risk_filters_and_is_for_overseers(api: Api) -> None:
    risky, _, _ = await risky_case(api)
    calm = await approved(api, department="R&D", last_day="2026-12-31")
    size = await settled(api)
    reply = await api.get(f"/v1/boards/hr?min_position={size}", "hr.sun")
    assert reply.status == 200, reply.body
    page = reply.json()
    assert [d["id"] for d in page["items"]] == [risky, calm] and page["total"] == 2
    assert [d["risk"] for d in page["items"]] == ["high", "none"]
    only_rd = (await api.get("/v1/boards/hr?department=R%26D", "audit.x")).json()
    assert [d["id"] for d in only_rd["items"]] == [calm]
    high = (await api.get("/v1/boards/hr?risk=high", "legal.x")).json()
    assert [d["id"] for d in high["items"]] == [risky]
    assert (await api.get("/v1/boards/hr", "wang.lei")).status == 403
    assert (await api.get("/v1/boards/hr?risk=extreme", "hr.sun")).problem(422)["field"] == (
        "risk")


async def test_the_dashboard_counts_the_overdue_cases_among_those_matching_in_one_read(
        api: Api) -> None:
    await risky_case(api)
    await approved(api, department="R&D", last_day="2026-12-31")
    await settled(api)
    hr, moments = HR_ACTOR, bq.Moments(TODAY.date(), TODAY)
    for wanted, total, overdue in ((bq.DashboardFilter(), 2, 1),
                                   (bq.DashboardFilter(department="R&D"), 1, 0),
                                   (bq.DashboardFilter(overdue=True), 1, 1)):
        page = await bq.hr_dashboard(api.runtime.projections, hr, wanted, moments, 1, 0,
                                     count_overdue=True)
        assert (page["total"], page["overdue_total"]) == (total, overdue), wanted
        plain = await bq.hr_dashboard(api.runtime.projections, hr, wanted, moments, 1, 0)
        assert "overdue_total" not in plain and plain["total"] == total


async def test_a_risk_that_comes_with_time_shows_without_a_new_event(api: Api) -> None:
    risky, _, _ = await risky_case(api)  # rejected on 2026-11-28, last day 2026-11-30
    calm = await approved(api, department="R&D", last_day="2026-12-31")
    size = await settled(api)

    async def dashboard() -> list[tuple[str, list[str]]]:
        reply = await api.get(f"/v1/boards/hr?min_position={size}", "hr.sun")
        assert reply.status == 200, reply.body
        return [(d["id"], [r["rule"] for r in d["risk_reasons"]])
                for d in reply.json()["items"]]

    assert await dashboard() == [(risky, ["last_day_near", "item_overdue"]), (calm, [])]
    api.runtime.ledger.clock = lambda: TODAY + dt.timedelta(days=2, minutes=-1)
    assert await dashboard() == [(risky, ["last_day_near", "item_overdue"]), (calm, [])]
    # days on, nothing logged meanwhile: the last day has passed, and the rejection (recorded
    # at the real time) has waited more than 2 days for a resubmission
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2, minutes=1)
    api.runtime.ledger.clock = lambda: later
    assert await settled(api) == size
    assert await dashboard() == [
        (risky, ["item_overdue", "rejection_not_resubmitted"]), (calm, [])]
    reasons = (await board(api, risky))["departure"]["risk_reasons"]
    assert [r["rule"] for r in reasons] == ["item_overdue", "rejection_not_resubmitted"]


async def test_a_rebuild_swaps_in_identical_tables(api: Api) -> None:
    departure_id, _, _ = await risky_case(api)
    before = await board(api, departure_id)
    position = await api.runtime.board.rebuild()
    assert position == before["position"]
    states = {s.name: s for s in await api.runtime.projections.states()}
    assert states["board"].generation == 2 and states["board"].error is None
    after = await board(api, departure_id)
    assert after == before


async def test_tables_of_an_earlier_release_are_rebuilt_when_the_service_starts(
        api: Api) -> None:
    """An upgrade that reads a new column needs no manual rebuild: the runner finds the
    current tables lack it and rebuilds them into the next generation before serving."""
    from ledger.projections.board import tables
    from ledger.projections.runner import ProjectionRunner

    departure_id, _, _ = await risky_case(api)
    before = await board(api, departure_id)
    departures = tables(1)["departures"]
    async with api.runtime.projections.transaction("board") as tx:  # as an older release made it
        assert tx is not None
        await tx.execute(f"DROP INDEX {departures}_open")
        for column in ("risk_near", "risk_overdue", "risk_accounts", "risk_rejected"):
            await tx.execute(f"ALTER TABLE {departures} DROP COLUMN {column}")
        await tx.execute(f"CREATE INDEX {departures}_open ON {departures} (open, departure_id)")
    runner = ProjectionRunner(api.runtime.projections, api.runtime.board.projector)
    await runner.prepare()
    states = {s.name: s for s in await api.runtime.projections.states()}
    assert states["board"].generation == 2 and states["board"].error is None
    assert await board(api, departure_id) == before


async def test_a_poison_event_stops_its_projection_naming_it_until_rebuilt(api: Api) -> None:
    from ledger.errors import ProjectionStoppedError
    from ledger.projections.runner import ProjectionRunner

    await risky_case(api)
    size = await settled(api)
    runner = ProjectionRunner(api.runtime.projections, CountingProjector("ItemRejected"),
                              batch=3)
    try:
        await runner.catch_up()
        raise AssertionError("the poison event was skipped")
    except ProjectionStoppedError as e:
        stopped = str(e)
    assert "stopped at log index" in stopped and "ItemRejected" in stopped
    state = {s.name: s for s in await api.runtime.projections.states()}["counting"]
    assert state.error == stopped and state.position < size
    # it never goes past the event: the next turn refuses again, nothing more is counted
    before = await api.runtime.projections.fetch("SELECT sum(n) AS n FROM counting_g1")
    try:
        await runner.step()
        raise AssertionError("a stopped projection went on")
    except ProjectionStoppedError:
        pass
    assert await api.runtime.projections.fetch("SELECT sum(n) AS n FROM counting_g1") == before
    assert int(before[0]["n"]) == state.position  # exactly once: one count per applied entry
    # fixed, rebuilt: every entry counted once, the error cleared, the old tables dropped
    runner.projector = CountingProjector(None)
    assert await runner.rebuild() == size
    counted = await api.runtime.projections.fetch("SELECT sum(n) AS n FROM counting_g2")
    assert int(counted[0]["n"]) == size
    state = {s.name: s for s in await api.runtime.projections.states()}["counting"]
    assert (state.error, state.generation, state.position) == (None, 2, size)


async def test_a_full_disk_pauses_a_projection_without_stopping_it(api: Api) -> None:
    from ledger.errors import StorageFullError
    from ledger.projections.runner import ProjectionRunner

    await risky_case(api)
    size = await settled(api)
    runner = ProjectionRunner(api.runtime.projections, CountingProjector(full=1), batch=3)
    try:
        await runner.catch_up()
        raise AssertionError("the refused write went unnoticed")
    except StorageFullError:
        pass  # not a ProjectionStoppedError: the storage's trouble, not the event's
    state = {s.name: s for s in await api.runtime.projections.states()}.get("counting")
    assert state is None or (state.error, state.position) == (None, 0)  # nothing kept
    assert await runner.catch_up() == size  # space returned: every entry, once
    counted = await api.runtime.projections.fetch("SELECT sum(n) AS n FROM counting_g1")
    assert int(counted[0]["n"]) == size


# --- inboxes and department queues --------------------------------------------------------------

async def actions(api: Api, who: str, path: str = "/v1/inbox") -> list[tuple[str, str]]:
    reply = await api.read_model(path, who)
    assert reply.status == 200, reply.body
    return [(e["action"], e.get("title") or e["departure_id"]) for e in reply.json()["items"]]


async def test_inboxes_say_who_must_do_what_now(api: Api) -> None:
    departure_id, clients, laptop = await risky_case(api)
    assert await actions(api, "wang.lei") == [("resubmit", "客户资料"), ("submit", "笔记本电脑")]
    assert await actions(api, "zhao.min") == []
    asked = await api.post(f"/v1/items/{clients}/comments", "zhao.min", json={
        "text": "三期需求在哪里?", "question_to": "wang.lei"})
    assert asked.status == 201, asked.body
    assert ("answer_question", "客户资料") in await actions(api, "wang.lei")
    assert (await api.post(f"/v1/items/{clients}/submit", "wang.lei", json={})).status == 200
    assert await actions(api, "zhao.min") == [("confirm", "客户资料")]
    assert (await api.post(f"/v1/items/{clients}/confirm", "zhao.min", json={})).status == 200
    assert (await api.post(f"/v1/items/{laptop}/submit", "wang.lei", json={})).status == 200
    assert await actions(api, "li.qiang") == [("confirm", "笔记本电脑")]
    assert (await api.post(f"/v1/items/{laptop}/confirm", "li.qiang", json={})).status == 200
    # every mandatory item done: the parties sign the confirmation, HR closes
    assert ("sign_confirmation", departure_id) in await actions(api, "wang.lei")
    assert set(await actions(api, "hr.sun")) >= {("sign_confirmation", departure_id),
                                                 ("close", departure_id)}
    for receiver in ("zhao.min", "li.qiang"):  # the receivers of its items sign too
        assert ("sign_confirmation", departure_id) in await actions(api, receiver)
    assert ("sign_confirmation", departure_id) not in await actions(api, "stranger")
    from tests.support.case_steps import request_departure

    requested = await request_departure(api, "zhao.min")
    assert ("accept_or_decline", requested) in await actions(api, "hr.sun")
    assert ("accept_or_decline", requested) not in await actions(api, "zhao.min")


async def test_an_approver_a_waiting_hr_owner_and_a_department_queue(api: Api) -> None:
    from tests.integration.test_http_api import start

    pending = await start(api)
    assert (await api.post(f"/v1/departures/{pending}/submit", "hr.sun")).status == 200
    assert await actions(api, "li.qiang") == [("approve", pending)]
    departure_id = await approved(api)
    await add_item(api, departure_id, receiver="dept:it", category="accounts_permissions",
                   title="邮箱账号")
    await add_item(api, departure_id, receiver="stranger", title="项目文档")
    await add_item(api, departure_id, receiver="li.qiang", category="accounts_permissions",
                   title="代码仓库", signers=["li.qiang", "dept:it"])  # IT co-signs
    assert sorted(await actions(api, "it.qian", "/v1/queues/it")) == [
        ("awaiting_giver", "代码仓库"), ("awaiting_giver", "邮箱账号")]
    assert len(await actions(api, "hr.sun", "/v1/queues/it")) == 2
    # the queue's own name, as items' receivers and the README spell it, reads the same queue
    assert sorted(await actions(api, "it.qian", "/v1/queues/dept:it")) == sorted(
        await actions(api, "it.qian", "/v1/queues/it"))
    assert (await api.get("/v1/queues/dept:dept:it", "hr.sun")).problem(422)["field"] == (
        "department")
    assert (await api.get("/v1/queues/it", "fin.zhou")).status == 403
    assert (await api.get("/v1/queues/IT;drop", "hr.sun")).problem(422)["field"] == (
        "department")
    deactivated = await api.post("/v1/principals/stranger/deactivate", "admin", json={})
    assert deactivated.status == 200, deactivated.body
    assert ("waive", "项目文档") in await actions(api, "hr.sun")
    reasons = (await board(api, departure_id))["departure"]["risk_reasons"]
    assert {"rule": "receiver_inactive", "why": "mandatory item '项目文档' has no active "
            "receiver (stranger)", "figures": {"item": "项目文档", "receiver": "stranger"}
            } in reasons


async def test_the_timeline_tells_who_did_what_when_to_each_reader_as_they_may_read(
        api: Api) -> None:
    departure_id, clients, laptop = await risky_case(api)
    commented = await api.post(f"/v1/items/{laptop}/comments", "li.qiang",
                               json={"text": "型号?"})
    assert commented.status == 201, commented.body
    reply = await api.get(f"/v1/departures/{departure_id}/timeline?limit=200", "hr.sun")
    assert reply.status == 200, reply.body
    lines = reply.json()["items"]
    assert [line["at"] for line in lines] == sorted(line["at"] for line in lines)
    assert lines[0]["en"] == "hr.sun started the departure"
    rejected = next(line for line in lines if line["type"] == "ItemRejected")
    assert (rejected["zh"], rejected["en"]) == ("zhao.min 退回「客户资料」：缺少三期需求",
                                               "zhao.min rejected “客户资料”: 缺少三期需求")
    assert any(line["en"] == "li.qiang approved step 1" for line in lines)
    reminded = await api.post(f"/v1/departures/{departure_id}/reminders", "hr.sun", json={
        "to": "wang.lei", "item_ids": [clients], "channel": "wecom"})
    assert reminded.status == 201, reminded.body
    page = (await api.get(f"/v1/departures/{departure_id}/timeline?limit=200",
                          "hr.sun")).json()
    assert page["items"][-1]["en"] == "hr.sun reminded wang.lei (1 item(s))"
    second = (await api.get(f"/v1/departures/{departure_id}/timeline?limit=2&offset=2",
                            "hr.sun")).json()
    assert (second["total"], second["items"]) == (page["total"], page["items"][2:4])
    # the receiver of the client file reads the case's steps and their item, not the laptop's
    theirs = (await api.get(f"/v1/departures/{departure_id}/timeline?limit=200",
                            "zhao.min")).json()
    streams = {line["stream"] for line in theirs["items"]}
    assert clients in streams and laptop not in streams and departure_id in streams
    assert (await api.get(f"/v1/departures/{departure_id}/timeline", "stranger")).status == 404


async def test_the_handover_report_counts_closed_cases_by_department(api: Api) -> None:
    from tests.integration.test_http_api import start
    from tests.support.confirmation import sign_confirmation_over_http

    departure_id, clients, laptop = await risky_case(api)
    for item_id, receiver in ((clients, "zhao.min"), (laptop, "li.qiang")):
        assert (await api.post(f"/v1/items/{item_id}/submit", "wang.lei", json={})).status == 200
        assert (await api.post(f"/v1/items/{item_id}/confirm", receiver, json={})).status == 200
    await sign_confirmation_over_http(api, departure_id)
    assert (await api.post(f"/v1/departures/{departure_id}/close", "hr.sun")).status == 200
    await start(api, department="R&D")  # open: not in the report
    await api.read_model("/v1/inbox", "hr.sun")
    today = dt.datetime.now(dt.UTC).date()
    api.runtime.ledger.clock = lambda: dt.datetime.now(dt.UTC)
    reply = await api.get(f"/v1/reports/handover?from={today}&to={today}", "audit.x")
    assert reply.status == 200, reply.body
    (sales,) = reply.json()["departments"]
    assert sales == {
        "department": "Sales", "closed": 1,
        "median_days_notice_to_close": (today - dt.date(2026, 11, 1)).days,
        "min_days_notice_to_close": (today - dt.date(2026, 11, 1)).days,
        "max_days_notice_to_close": (today - dt.date(2026, 11, 1)).days, "items": 2,
        "items_rejected_at_least_once": 1, "items_overdue": 1, "reminders_per_case": 0,
        "escalations_per_case": 0}
    as_csv = await api.get(f"/v1/reports/handover?from={today}&to={today}&format=csv", "hr.sun")
    assert as_csv.content_type == "text/csv"
    assert as_csv.body.decode().splitlines()[1].startswith("Sales,1,")
    assert (await api.get("/v1/reports/handover", "wang.lei")).status == 403
    backwards = await api.get("/v1/reports/handover?from=2026-02-01&to=2026-01-01", "hr.sun")
    assert backwards.problem(422)["field"] == "to"


# --- live updates (Server-Sent Events) ----------------------------------------------------------

async def test_a_cases_board_is_sent_live_and_resumes_from_last_event_id(api: Api) -> None:
    departure_id, clients, _ = await risky_case(api)
    await api.read_model("/v1/inbox", "hr.sun")
    url = api.url(f"/v1/boards/departures/{departure_id}/events")
    async with api.session.get(url, headers=api.auth("zhao.min")) as stream:
        assert stream.status == 200 and stream.content_type == "text/event-stream"
        first = await next_event(stream.content)
        assert first["event"] == "board"
        assert json.loads(first["data"])["departure"]["id"] == departure_id
        assert (await api.post(f"/v1/items/{clients}/submit", "wang.lei", json={})).status == 200
        await api.read_model("/v1/inbox", "hr.sun")
        second = await next_event(stream.content)
        assert int(second["id"]) > int(first["id"])
        item = json.loads(second["data"])["categories"]["clients"][0]
        assert item["state"] == "submitted"
    # reconnecting with the last id it saw: nothing new, so nothing until the next change
    resumed_from = second["id"]
    async with api.session.get(url, headers={**api.auth("zhao.min"),
                                             "Last-Event-ID": resumed_from}) as stream:
        assert (await api.post(f"/v1/items/{clients}/confirm", "zhao.min", json={})).status == 200
        await api.read_model("/v1/inbox", "hr.sun")
        third = await next_event(stream.content)
        assert json.loads(third["data"])["categories"]["clients"][0]["state"] == "confirmed"
    hidden = await api.get(f"/v1/boards/departures/{departure_id}/events", "stranger")
    assert hidden.status == 404


async def test_the_hr_dashboard_stream_names_the_cases_that_changed(api: Api) -> None:
    departure_id, clients, _ = await risky_case(api)
    calm = await approved(api, department="R&D")
    await api.read_model("/v1/inbox", "hr.sun")
    async with api.session.get(api.url("/v1/boards/hr/events"),
                               headers=api.auth("audit.x")) as stream:
        assert stream.status == 200
        assert (await api.post(f"/v1/items/{clients}/submit", "wang.lei", json={})).status == 200
        await api.read_model("/v1/inbox", "hr.sun")
        changed = await next_event(stream.content)
        assert changed["event"] == "changed"
        assert json.loads(changed["data"])["departures"] == [departure_id]  # not ``calm``
    assert calm != departure_id
    assert (await api.get("/v1/boards/hr/events", "wang.lei")).status == 403


async def test_a_reader_reads_its_own_write_with_the_workers_running(api: Api) -> None:
    departure_id, clients, _ = await risky_case(api)
    await api.runtime.workers.start()  # the sequencer and the board follow in the background
    try:
        submitted = await api.post(f"/v1/items/{clients}/submit", "wang.lei", json={})
        event_id = submitted.json()["events"][0]["id"]
        reply = await api.get(f"/v1/boards/departures/{departure_id}?after_event={event_id}",
                              "wang.lei")
        assert reply.status == 200, reply.body
        assert reply.json()["categories"]["clients"][0]["state"] == "submitted"
        beyond = await api.get(f"/v1/boards/hr?min_position={10**9}", "hr.sun")
        assert beyond.problem(422)["field"] == "min_position"
        unknown = await api.get(f"/v1/inbox?after_event={departure_id}", "hr.sun")
        assert unknown.problem(404)["detail"] == "no such event"
        # an event of a stream its reader may not read is absent alike
        hidden = await api.get(f"/v1/inbox?after_event={event_id}", "stranger")
        assert hidden.problem(404)["detail"] == "no such event"
        assert (await api.get("/v1/inbox?after_event=nope", "hr.sun")).problem(422)[
            "field"] == "after_event"
    finally:
        await api.runtime.workers.stop()


async def test_the_board_takes_the_entries_this_process_wrote_without_decoding_them(
        api: Api) -> None:
    from ledger.recent_entries import RECENT

    before = RECENT.served_from_writes
    departure_id, _, _ = await risky_case(api)
    size = await settled(api)
    assert RECENT.served_from_writes - before == size  # every event of the log was ours
    assert (await board(api, departure_id))["departure"]["state"] == "handing_over"
