"""Property-based API testing with schemathesis against the live server's /openapi.json.

A real aiohttp server (SQLite store, sequencer running as in production) listens on 127.0.0.1
in a background thread with its own event loop: schemathesis calls it synchronously through
``requests``. Every documented operation is exercised by schemathesis' coverage and fuzzing
phases (at most ``MAX_EXAMPLES`` cases per operation, a fixed seed) as an HR principal, and
every response must pass ``not_a_server_error``, ``status_code_conformance``,
``response_schema_conformance``, ``content_type_conformance`` and ``ignored_auth``.

Random ids only ever reach "not found", so about half of the generated cases have their path
ids (and the same ids in their bodies, which must agree with the path) replaced by ids of real
departures, items, events and templates created before the run: those reach the use cases.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
    use_after_free,
)

from api.app import build_app, endpoints
from api.openapi import build_openapi
from ledger.bootstrap import bootstrap
from ledger.principals import Principal, new_token
from ledger.runtime import Runtime
from ledger.service import commands as c
from ledger.service.context import Actor, RequestContext
from ledger.settings import Settings
from tests.conftest import TEST_ORIGIN
from tests.integration.scenarios import add_people

MAX_EXAMPLES = 25
STATEFUL_LEAVERS = 200  # principals a stateful scenario's departures may name
SEED = 20261124  # fixed: the same cases on every run (and in CI)
HR = Actor("hr.fuzz", "hr", "HR Fuzz")
MANAGER = Actor("mgr.fuzz", "employee", "Manager Fuzz")
CONTEXT = RequestContext(auth="test")
TOKEN, TOKEN_HASH = new_token()  # HR's, registered by the live server
# The three asked for, plus four more that hold. (Not positive_data_acceptance: schema-valid
# bodies may still break domain rules, e.g. a leaver who is their own manager, which is a 422.)
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance,
          content_type_conformance, ignored_auth, unsupported_method,
          negative_data_rejection]
# POST /v1/commands checks each command on its own (one invalid command must not stop the
# others): a schema-violating command is refused in its own result (422 within the 200), which
# test_http_api.py checks, so the whole-request negative_data_rejection does not apply to it.
PER_COMMAND_CHECKS = [c for c in CHECKS if c is not negative_data_rejection]
ID_PARAMETERS = ("departure_id", "item_id", "stream_id", "event_id", "key", "principal_id")


@dataclass
class LiveServer:
    """The application on 127.0.0.1 in a thread of its own; ``ids`` of real things by name."""

    root: Path
    base_url: str = ""
    ids: dict[str, list[str]] = field(default_factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _error: BaseException | None = None
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),),
                                        name="live-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(60):
            raise TimeoutError("the live server did not start within 60 s")
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(60)

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        runtime: Runtime | None = None
        runner: web.AppRunner | None = None
        try:
            runtime = await bootstrap(Settings(
                database_url=f"sqlite:///{self.root}/ledger.db", data_dir=self.root,
                log_origin=TEST_ORIGIN, key_dir=self.root / "keys",
                # ignored_auth probes every operation with bad credentials from one address
                auth_failure_limit=1_000_000,
                auto_apply_checklists=False))  # _seed applies the sales checklist by hand
            await runtime.ledger.install_builtin_templates()
            await runtime.principals.add_principal(Principal(HR.id, HR.name or HR.id, ("hr",)))
            await add_people(runtime.principals, {
                MANAGER.id: ("employee",),
                **{f"leaver.{n}": ("employee",) for n in range(1, 10 + STATEFUL_LEAVERS)}})
            await runtime.principals.add_token(TOKEN_HASH, HR.id, "schemathesis")
            self.ids = await _seed(runtime.ledger)
            runner = web.AppRunner(build_app(runtime))
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            await runtime.workers.start()  # the sequencer, as ``ledger serve`` runs it
            host, port = runner.addresses[0][:2]
            self.base_url = f"http://{host}:{port}"
            self._ready.set()
            await self._stop.wait()
        except BaseException as e:
            self._error = e
            raise
        finally:
            self._ready.set()
            if runner is not None:
                await runner.cleanup()
            if runtime is not None:
                await runtime.workers.stop()
                await runtime.close()


async def _seed(ledger: Any) -> dict[str, list[str]]:
    """A draft, one departure waiting for HR's approval, one handing over with items."""
    today = dt.date.today()

    async def start(n: int, chain: list[c.ApprovalStep]) -> str:
        outcome = await ledger.execute(c.StartDeparture(
            leaver=c.Leaver(id=f"leaver.{n}", name=f"Leaver {n}", department="Sales",
                            position="Account Manager", role_family="sales"),
            manager_id=MANAGER.id, hr_owner_id=HR.id, notice_date=today,
            last_working_day=today + dt.timedelta(days=30), reason="Resigned",
            approval_chain=chain), HR, CONTEXT)
        return str(outcome.result["departure_id"])

    draft = await start(1, [])
    pending = await start(2, [c.ApprovalStep(name="Manager", approver_id=MANAGER.id)])
    await ledger.execute(c.SubmitForApproval(departure_id=pending), HR, CONTEXT)
    handing_over = await start(3, [])
    await ledger.execute(c.SubmitForApproval(departure_id=handing_over), HR, CONTEXT)
    applied = await ledger.execute(c.ApplyTemplate(departure_id=handing_over,
                                                   template_key="sales", successor_id=HR.id),
                                   HR, CONTEXT)
    items = [str(i) for i in applied.result["item_ids"]]  # type: ignore[union-attr]
    commented = await ledger.execute(c.CommentItem(item_id=items[0], text="seen"), HR, CONTEXT)
    events = [e["id"] for e in commented.body["events"]]  # type: ignore[union-attr,index]
    events += [e["id"] for e in applied.body["events"]]  # type: ignore[union-attr,index]
    departures = [draft, pending, handing_over]
    return {"departure_id": departures, "item_id": items, "stream_id": departures + items,
            "event_id": events, "key": ["sales", "technical"], "principal_id": [HR.id]}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("schemathesis"))
    server.start()
    yield server
    server.stop()


# The document the server serves (test_live_server_serves_this_document checks it byte for
# byte): loaded at collection so that each operation is a test of its own.
# (schemathesis.pytest.from_fixture, which would load it from the live server, fails on
# pytest 9.2: it reads ``request.node._nodeid``, which pytest 9.2 no longer has.)
DOCUMENT = build_openapi(endpoints())
schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config.from_dict({
    "seed": SEED,
    "auth": {"openapi": {"bearer": {"bearer": TOKEN}}},
    "cache": {"enabled": False},
    "generation": {"max-examples": MAX_EXAMPLES, "database": "none",
                   "with-security-parameters": False},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True},
               "fuzzing": {"enabled": True}, "stateful": {"enabled": False}},
    "request-timeout": 10,
}))


VALID_LEAVER = {"name": "Leaver", "department": "Sales", "position": "Account Manager",
                "role_family": "sales"}


def use_real_ids(case: Any, live: LiveServer, pick: int) -> None:
    """Point the case at real things; a body naming the same id is made to agree."""
    for name in ID_PARAMETERS:
        if case.path_parameters and name in case.path_parameters:
            choices = live.ids[name]
            value = choices[pick % len(choices)]
            # A new dict (not an in-place edit) makes schemathesis revalidate the path: a
            # negative case whose bad id became a real one is then judged as the valid request
            # it now is.
            case.path_parameters = {**case.path_parameters, name: value}
            if isinstance(case.body, dict) and name in case.body:
                case.body[name] = value


# Server-Sent Events never end while the client listens: schemathesis would wait for the end
# of each stream. test_boards.py drives them with a real SSE client instead.
@schema.exclude(path_regex=r"^/v1/boards/.*/events$").parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_api_conforms_to_its_openapi_document(case: Any, live: LiveServer) -> None:
    # Decided by the generated path itself, so a failing case replays (and shrinks) alike.
    digest = zlib.crc32(json.dumps(case.path_parameters or {}, sort_keys=True,
                                   default=str).encode())
    real = digest % 2 == 0
    if real:
        use_real_ids(case, live, digest // 2)
    batch = case.operation.method.upper() == "POST" and case.operation.path == "/v1/commands"
    case.call_and_validate(base_url=live.base_url, checks=PER_COMMAND_CHECKS if batch else CHECKS)


# --- stateful: sequences of calls chained by the document's links --------------------------------
STATEFUL_SCENARIOS = 12  # Hypothesis examples: scenarios of up to STATEFUL_STEPS calls each
STATEFUL_STEPS = 8
# A copy: building the state machine adds the links schemathesis infers to the document it holds.
STATEFUL_CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    "auth": {"openapi": {"bearer": {"bearer": TOKEN}}},
    "cache": {"enabled": False},
    "generation": {"database": "none", "with-security-parameters": False,
                   "mode": "positive"},
    "phases": {"stateful": {"enabled": True, "max-steps": STATEFUL_STEPS}},
    "request-timeout": 60,  # a bundle's report is rendered on request: slow on a busy machine
})
stateful_schema = schemathesis.openapi.from_dict(
    copy.deepcopy(DOCUMENT), config=STATEFUL_CONFIG).exclude(path_regex=r"^/v1/boards/.*/events$")
# negative_data_rejection and ignored_auth need negative or unauthenticated cases, which the
# stateful phase does not make; use_after_free and ensure_resource_availability are stateful.
STATEFUL_CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance,
                   content_type_conformance, use_after_free, ensure_resource_availability]


def test_links_chain_the_operations_that_produce_and_consume_ids() -> None:
    links = DOCUMENT["paths"]["/v1/departures"]["post"]["responses"]["201"]["links"]
    assert links["get_departure"] == {"operationId": "get_departure", "parameters": {
        "departure_id": "$response.body#/result/departure_id"}}
    added = DOCUMENT["paths"]["/v1/departures/{departure_id}/items"]["post"]["responses"]
    assert added["201"]["links"]["submit_item"]["parameters"] == {
        "item_id": "$response.body#/result/item_id"}
    assert "departure_board_events" not in links  # a live stream never ends


def test_stateful_sequences_meet_the_document(live: LiveServer) -> None:
    """Scenarios of calls where each follows a link from an earlier answer (a departure
    started, then read, submitted, given items, ...), as HR; a started departure names a
    leaver and manager who exist (random ids would stop every chain at its first 422)."""
    leavers = iter(f"leaver.{n}" for n in range(10, 10 + STATEFUL_LEAVERS))
    reached: set[str] = set()  # operations on an id that answered 2xx

    class Machine(stateful_schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Any) -> None:
            name = case.operation.definition.raw.get("operationId")
            if name == "start_departure" and isinstance(case.body, dict):
                case.body = {**case.body, "leaver": {**VALID_LEAVER, "id": next(leavers, "x")},
                             "manager_id": MANAGER.id, "hr_owner_id": HR.id,
                             "approval_chain": []}
            if name == "add_item" and isinstance(case.body, dict):
                case.body = {**case.body, "receiver": MANAGER.id}

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": live.base_url}

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            if case.path_parameters and response.status_code < 300:
                reached.add(case.operation.definition.raw.get("operationId"))

        def validate_response(self, response: Any, case: Any,
                              additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, checks=STATEFUL_CHECKS,
                                   recorder=getattr(self, "recorder", None))

    # No shrinking: a live server's state moves on, so a replayed scenario is another one.
    Machine.run(settings=settings(max_examples=STATEFUL_SCENARIOS, deadline=None,
                                  database=None, stateful_step_count=STATEFUL_STEPS,
                                  phases=[Phase.explicit, Phase.generate],
                                  suppress_health_check=list(HealthCheck)))
    # The links carried real ids: operations on something the scenario made succeeded (a random
    # id only ever reaches "not found").
    assert reached, "no linked operation reached a real object"


def test_live_server_serves_this_document(live: LiveServer) -> None:
    response = requests.get(live.base_url + "/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.json() == DOCUMENT


def test_405_lists_the_allowed_methods(live: LiveServer) -> None:
    response = requests.put(live.base_url + "/healthz", timeout=10)
    assert response.status_code == 405
    assert response.headers.get("Allow") == "GET"


def test_a_number_is_not_a_date(live: LiveServer) -> None:
    body = {"leaver": {"id": "leaver.9", "name": "Leaver 9", "department": "Sales",
                       "position": "Clerk", "role_family": "sales"},
            "manager_id": MANAGER.id, "hr_owner_id": HR.id, "notice_date": 0,
            "last_working_day": "2026-12-31", "reason": "Resigned"}
    response = requests.post(live.base_url + "/v1/departures", json=body, timeout=10,
                             headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 422, response.text
