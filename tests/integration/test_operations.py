"""Operating the service, against a real server on SQLite and PostgreSQL: who may read
/metrics and what it says (read back with prometheus_client's own parser), /readyz naming a
projection or the sequencer that is stopped or too far behind, request ids, and a server log
that has one JSON line per request and per worker action and never a secret."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from ledger.projections.board import BoardProjector
from tests.integration.http_fixtures import Api, departure_body, serve
from tests.support.captured_log import captured_log
from tests.support.console import Console, console_session, csrf_of

SCRAPE = "scrape-" + "0123456789abcdef" * 3
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
async def ops(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The service with a scrape token, and readiness strict about lag (more than 5)."""
    async with serve(database_url, tmp_path, metrics_token=SecretStr(SCRAPE),
                     ready_max_lag=5) as served:
        yield served


async def scrape(api: Api) -> Samples:
    reply = await api.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE}"})
    assert reply.status == 200, reply.body[:300]
    assert reply.content_type == "text/plain"
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(reply.body.decode())
            for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_answer_an_operator_or_the_scrape_token_and_nobody_else(
        ops: Api) -> None:
    assert (await ops.get("/metrics")).problem(401)
    assert (await ops.get("/metrics", "hr.sun")).problem(403)
    assert (await ops.get("/metrics", "audit.x")).problem(403)
    assert (await ops.get("/metrics", "admin")).status == 200  # an operator
    assert (await ops.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE}"})).status \
        == 200
    # the scrape token opens /metrics only, and a near miss is a failed authentication
    assert (await ops.get("/v1/departures", headers={
        "Authorization": f"Bearer {SCRAPE}"})).problem(401)
    assert (await ops.get("/metrics", headers={
        "Authorization": f"Bearer {SCRAPE[:-1]}x"})).problem(401)


async def test_metrics_without_a_scrape_token_are_for_operators_only(api: Api) -> None:
    assert api.runtime.settings.metrics_token is None
    assert (await api.get("/metrics", headers={"Authorization": "Bearer "})).problem(401)
    assert (await api.get("/metrics", "system.iam")).problem(403)
    reply = await api.get("/metrics", "admin")
    assert reply.status == 200
    assert b"ledger_sequencer_lag_events" in reply.body


async def test_metrics_count_requests_by_route_appends_lag_and_failed_authentications(
        ops: Api) -> None:
    before = await scrape(ops)
    started = await ops.post("/v1/departures", "hr.sun", json=departure_body())
    assert started.status == 201
    appended = len(started.json()["events"])
    departure_id = started.json()["result"]["departure_id"]
    assert (await ops.get(f"/v1/departures/{departure_id}", "hr.sun")).status == 200
    for bad in ("hl_" + "x" * 43, "nonsense"):
        assert (await ops.get("/v1/departures", headers={
            "Authorization": f"Bearer {bad}"})).status == 401
    queued = await ops.runtime.store.count_events() - (await ops.runtime.projections.log_size())
    after = await scrape(ops)

    route = "/v1/departures/{departure_id}"
    assert value(after, "ledger_http_requests_total", method="GET", route=route,
                 status="200") == 1
    assert value(after, "ledger_http_request_duration_seconds_count", method="GET",
                 route=route) == 1
    assert value(after, "ledger_http_requests_total", method="POST", route="/v1/departures",
                 status="201") == 1
    assert not any(departure_id in v for (_, labels) in after for _, v in labels)  # templates
    assert value(after, "ledger_events_appended_total") - value(
        before, "ledger_events_appended_total") == appended
    assert value(after, "ledger_auth_failures_total") - value(
        before, "ledger_auth_failures_total") == 2
    assert queued >= appended
    assert value(after, "ledger_sequencer_lag_events") == queued

    await ops.sequence()
    size = await ops.runtime.projections.log_size()
    board = next(s for s in await ops.runtime.projections.states() if s.name == "board")
    sequenced = await scrape(ops)
    assert value(sequenced, "ledger_sequencer_lag_events") == 0
    assert value(sequenced, "ledger_log_size") == size
    assert value(sequenced, "ledger_projection_lag_events", projection="board") == (
        size - board.position) > 0
    assert 0 <= value(sequenced, "ledger_checkpoint_age_seconds") < 60
    assert ("ledger_webhook_backlog", frozenset()) in sequenced
    assert value(sequenced, "ledger_webhook_dead_letters") == 0
    await ops.runtime.board.catch_up()
    assert value(await scrape(ops), "ledger_projection_lag_events", projection="board") == 0


async def wait_ready(api: Api) -> dict[str, object]:
    for _ in range(200):
        reply = await api.get("/readyz")
        if reply.status == 200:
            document: dict[str, object] = reply.json()
            return document
        await asyncio.sleep(0.05)
    raise AssertionError(f"never ready: {reply.body[:500]!r}")


async def test_readiness_names_a_lagging_sequencer_and_a_stopped_or_lagging_projection(
        ops: Api) -> None:
    runtime = ops.runtime
    for _ in range(2):  # more than 5 events committed, none sequenced
        assert (await ops.post("/v1/departures", "hr.sun", json=departure_body())).status == 201
    behind = (await ops.get("/readyz")).problem(503)
    assert any(p.startswith("sequencer is ") for p in behind["problems"]), behind
    assert behind["sequencer_lag"] > 5

    await ops.sequence()  # the log has them; the board has not read them
    lagging = (await ops.get("/readyz")).problem(503)
    assert "projection board is" in lagging["detail"]
    assert {p["name"]: p["lag"] > 5 for p in lagging["projections"]}["board"]

    await runtime.workers.start()  # the projection runners catch up by themselves
    try:
        ready = await wait_ready(ops)
        assert ready["sequencer_lag"] == 0
        assert all(p["lag"] == 0 and p["ok"] for p in ready["projections"])  # type: ignore[attr-defined]
    finally:
        await runtime.workers.stop()

    await runtime.projections.record_error("board", "projection board stopped: secret detail")
    stopped = await ops.get("/readyz")
    document = stopped.problem(503)
    assert "projection board stopped at an event it cannot apply" in document["problems"]
    assert {p["name"]: p["ok"] for p in document["projections"]} == {
        "board": False, "webhooks": True}
    assert b"secret detail" not in stopped.body  # the log and `ledger projections status` say


async def test_readiness_says_when_the_database_does_not_answer(ops: Api) -> None:
    await ops.runtime.store.close()  # as a database gone away: every query fails
    reply = await ops.get("/readyz")
    assert reply.problem(503)["problems"] == ["the database does not answer"]
    assert (await ops.get("/healthz")).status == 200  # alive, not ready


async def test_a_sane_request_id_is_kept_and_any_other_replaced(ops: Api) -> None:
    kept = f"req-{uuid.uuid4()}"
    for path, who in (("/v1/departures", "hr.sun"), ("/v1/nowhere", "hr.sun"),
                      ("/console/sign-in", None), ("/readyz", None), ("/", None),
                      ("/log/checkpoint", None), ("/console/static/nowhere.css", None)):
        reply = await ops.get(path, who, headers={"X-Request-Id": kept})
        assert reply.headers["X-Request-Id"] == kept, path
    for insane in ("a" * 129, "two words", "<script>", "-leading-dash", "ok\tno"):
        reply = await ops.get("/healthz", headers={"X-Request-Id": insane})
        assert re.fullmatch("[0-9a-f]{32}", reply.headers["X-Request-Id"]), insane


async def test_the_log_has_a_line_per_request_and_worker_action_and_no_secret(
        ops: Api) -> None:
    with captured_log() as log:
        started = await ops.post("/v1/departures", "hr.sun", json=departure_body(),
                                 headers={"X-Request-Id": "req-logged-1"})
        departure_id = started.json()["result"]["departure_id"]
        assert (await ops.post(f"/v1/departures/{departure_id}/submit", "hr.sun")).status \
            == 200
        assert (await ops.post(f"/v1/departures/{departure_id}/approvals/0/approve",
                               "li.qiang")).status == 200
        issued = await ops.post("/v1/principals/wang.lei/sign-in-links", "hr.sun",
                                json={"departure_id": departure_id})
        assert issued.status == 201, issued.body
        link_path = issued.json()["url"].removeprefix(ops.base)
        secret = link_path.rsplit("/", 1)[1]
        async with console_session() as session:
            by_link = Console(ops, session)
            page = await by_link.get(link_path)
            assert page.status == 200
            used = await by_link.request("POST", link_path, data={"csrf": csrf_of(page.body)})
            assert used.status == 303, used.body[:300]
            session_cookies = [m.value for m in session.cookie_jar]
        async with console_session() as session:
            by_token = Console(ops, session)
            await by_token.sign_in("hr.sun")
            assert (await by_token.get("/console/")).status == 200
            session_cookies += [m.value for m in session.cookie_jar]
        await ops.get("/v1/departures", headers={"Authorization": "Bearer hl_" + "z" * 43})
        await ops.runtime.workers.start()
        try:
            await wait_ready(ops)
        finally:
            await ops.runtime.workers.stop()

    lines = log.records()  # every line is one JSON object
    requests = [r for r in lines if r["logger"] == "ledger.http"]
    first = next(r for r in requests if r["request_id"] == "req-logged-1")
    assert (first["method"], first["route"], first["status"], first["principal_id"]) == (
        "POST", "/v1/departures", 201, "hr.sun")
    assert first["duration_ms"] >= 0
    assert {"/console/sign-in/link/{secret}", "/console/sign-in",
            "/v1/principals/{principal_id}/sign-in-links"} <= {r["route"] for r in requests}
    assert any(r["route"] == "/console/" and r["principal_id"] == "hr.sun" for r in requests)
    actions = {(r.get("worker"), r.get("action")) for r in lines}
    assert {("sequencer", "batch"), ("projection:board", "step"),
            ("scheduler", "step")} <= actions
    secrets = [*ops.tokens.values(), secret, *(c for c in session_cookies if len(c) >= 20)]
    assert all(s not in log.text for s in secrets)
    # Not thanks to the formatter's redaction alone: no record carried one. (aiohttp's own
    # access log, which the test server keeps, prints raw paths: `ledger serve` turns it off.)
    assert all(s not in log.unredacted(besides=("aiohttp.access",)) for s in secrets)
    assert "hl_zzzz" not in log.text and "hll_" + secret[4:12] not in log.text


async def _readiness_steps(api: Api) -> int:
    """SQLite virtual-machine steps (in thousands) the database ran for one GET /readyz."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0  # go on

    db = api.runtime.store.db  # type: ignore[attr-defined]
    await db.set_progress_handler(count, 1000)
    try:
        assert (await api.get("/readyz")).status == 200
    finally:
        await db.set_progress_handler(None, 1000)
    return steps[0]


async def test_readiness_reads_no_delivered_webhook_deliveries(tmp_path: Path) -> None:
    # /readyz is public: its cost must not grow with the deliveries ever made (kept forever
    # for the record), or anyone could load the database with it. On PostgreSQL, 1,000,000
    # delivered rows made each /readyz take ~270 ms (a count over all of them), 0.1 ms after.
    async with serve(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path) as api:
        before = await _readiness_steps(api)
        async with api.runtime.store.transaction() as db:  # type: ignore[attr-defined]
            await db.execute(
                "INSERT INTO webhook_subscriptions VALUES ('sub', 'https://example.invalid/',"
                " 'json', '[]', 'x', NULL, NULL, NULL, 0, 0, 'admin', '2026-12-06T00:00:00Z',"
                " '2026-12-06T00:00:00Z', 'x')")
            await db.execute(
                "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 50000)"
                " INSERT INTO webhook_outbox (id, subscription_id, event_id, event_type,"
                " log_index, ordering_key, body, status, next_attempt_at, created_at)"
                " SELECT 'o' || n, 'sub', 'e' || n, 'X', n, 'k', '{}', 'delivered',"
                " '2026-12-06T00:00:00Z', '2026-12-06T00:00:00Z' FROM g")
        after = await _readiness_steps(api)
        assert after <= before + 5, (before, after)
        ready = (await api.get("/readyz")).json()
        assert ready["webhook_backlog"] == 0 and ready["webhook_dead_letters"] == 0


async def test_metrics_report_the_in_memory_caches_entries_and_bytes(ops: Api) -> None:
    before = await scrape(ops)  # the built-in checklists, installed at start
    assert value(before, "ledger_cache_entries", cache="aggregates") == len(
        ops.runtime.ledger.cache)
    started = await ops.post("/v1/departures", "hr.sun", json=departure_body())
    assert started.status == 201
    await ops.sequence()
    await ops.runtime.board.catch_up()
    held = await scrape(ops)
    aggregates = ops.runtime.ledger.cache.held()
    assert aggregates[0] == value(before, "ledger_cache_entries", cache="aggregates") + 1
    assert aggregates[1] > 0  # the departure just started joined them
    assert (value(held, "ledger_cache_entries", cache="aggregates"),
            value(held, "ledger_cache_bytes", cache="aggregates")) == aggregates
    board = ops.runtime.board.projector
    assert isinstance(board, BoardProjector)
    for cache, (entries, size) in board.held().items():
        assert (value(held, "ledger_cache_entries", cache=cache),
                value(held, "ledger_cache_bytes", cache=cache)) == (entries, size)
    assert board.held()["board_folded"][0] >= 1
