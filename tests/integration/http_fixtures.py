"""A real HTTP server for the API tests: an opened runtime on SQLite or PostgreSQL served by
aiohttp on 127.0.0.1, the cast of principals with one bearer token each, and a client that
speaks as any of them.

Test modules build their own fixtures from ``serve`` (function or module scope); nothing here
connects or opens anything at import time.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestServer

from ledger.bootstrap import bootstrap
from ledger.principals import Principal, new_token
from ledger.runtime import Clock, Runtime
from ledger.service.context import Actor
from ledger.service.unit_of_work import utc_now
from ledger.settings import Settings
from tests.conftest import PG_ADMIN_DSN, TEST_ORIGIN, drain
from web.site import build_site

PROBLEM_JSON = "application/problem+json"

# id → (name, roles): the people and systems of one offboarding, as the tests address them.
CAST: dict[str, tuple[str, tuple[str, ...]]] = {
    "admin": ("Platform operator", ("operator",)),
    "hr.sun": ("孙 HR", ("hr",)),
    "hr.zhou": ("周 HR", ("hr",)),  # a second HR: not the owner of hr.sun's cases
    "hr.leaver": ("离职 HR", ("employee", "hr")),  # an HR principal who is leaving
    "wang.lei": ("王磊", ("employee",)),
    "li.qiang": ("李强", ("employee",)),
    "zhao.min": ("赵敏", ("employee",)),
    "stranger": ("路人", ("employee",)),
    "it.qian": ("钱 IT", ("it",)),
    "fin.zhou": ("周 Finance", ("finance",)),
    "adm.wu": ("吴 Admin", ("admin",)),
    "system.iam": ("IAM", ("system",)),
    "system.iam2": ("Second IAM", ("system",)),
    "legal.x": ("Legal", ("legal",)),
    "legal.mgr": ("Legal manager", ("employee", "legal")),
    "audit.x": ("Auditor", ("auditor",)),
}
HR = Actor("hr.sun", "hr", CAST["hr.sun"][0])
LEAVER = Actor("wang.lei", "employee", CAST["wang.lei"][0])
MANAGER = Actor("li.qiang", "employee", CAST["li.qiang"][0])


def departure_body(*, department: str = "Sales", notice: str = "2026-11-01",
                   last_day: str = "2026-11-30", chain: bool = True,
                   leaver: str = "wang.lei") -> dict[str, Any]:
    """A StartDeparture body for ``leaver``, managed by li.qiang, owned by hr.sun; with
    ``chain`` the manager approves the single step."""
    return {
        "leaver": {"id": leaver, "name": CAST.get(leaver, (leaver,))[0],
                   "department": department, "position": "Account manager",
                   "role_family": "sales"},
        "manager_id": "li.qiang", "hr_owner_id": "hr.sun", "notice_date": notice,
        "last_working_day": last_day, "reason": "resigned",
        "approval_chain": [{"name": "manager", "approver_id": "li.qiang"}] if chain else [],
    }


@dataclass(frozen=True)
class Reply:
    """A response read to the end: status, headers and body bytes."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        """The media type, without parameters."""
        return self.headers.get("Content-Type", "").split(";")[0].strip()

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)

    def problem(self, status: int) -> dict[str, Any]:
        """The body, after checking it is an RFC 9457 problem with ``status`` and no trace."""
        assert self.status == status, (self.status, self.body[:500])
        assert self.content_type == PROBLEM_JSON, self.headers.get("Content-Type")
        assert b"Traceback" not in self.body
        document: dict[str, Any] = self.json()
        assert document["status"] == status
        assert document["title"]
        return document


@dataclass
class Api:
    """The served runtime and a client that authenticates as any principal of the cast."""

    runtime: Runtime
    session: aiohttp.ClientSession
    base: str
    tokens: dict[str, str]

    def url(self, path: str) -> str:
        """The server's address of ``path``."""
        return self.base + path

    def auth(self, who: str) -> dict[str, str]:
        """The Authorization header of ``who``."""
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def call(self, method: str, path: str, who: str | None = None, *,
                   role: str | None = None, json: Any = None, data: Any = None,
                   headers: Mapping[str, str] | None = None) -> Reply:
        """Send one request as ``who`` (a principal id; None sends no credentials)."""
        sent = dict(headers or {})
        if who is not None:
            sent.setdefault("Authorization", f"Bearer {self.tokens[who]}")
        if role is not None:
            sent["X-Ledger-Role"] = role
        async with self.session.request(method, self.base + path, json=json, data=data,
                                        headers=sent) as response:
            return Reply(response.status, response.headers, await response.read())

    async def get(self, path: str, who: str | None = None, **kwargs: Any) -> Reply:
        """GET ``path`` as ``who``."""
        return await self.call("GET", path, who, **kwargs)

    async def post(self, path: str, who: str | None = None, **kwargs: Any) -> Reply:
        """POST ``path`` as ``who``."""
        return await self.call("POST", path, who, **kwargs)

    async def sequence(self) -> None:
        """Sequence every queued event into the log and sign a checkpoint."""
        await drain(self.runtime.sequencer)

    async def read_model(self, path: str, who: str | None = None) -> Reply:
        """GET a read model's ``path`` once everything written so far is sequenced and the
        read model has reached it (``min_position``)."""
        await self.sequence()
        await self.runtime.board.catch_up()  # the board's worker runs in ``ledger serve``
        size = (await self.runtime.projections.log_size())
        sep = "&" if "?" in path else "?"
        return await self.get(f"{path}{sep}min_position={size}", who)


async def add_cast(runtime: Runtime) -> dict[str, str]:
    """Create every principal of the cast with one token each; return id → token."""
    tokens = {}
    for principal_id, (name, roles) in CAST.items():
        await runtime.principals.add_principal(Principal(principal_id, name, roles))
        tokens[principal_id] = await add_token(runtime, principal_id)
    return tokens


async def add_token(runtime: Runtime, principal_id: str) -> str:
    """Issue a token straight into the principal store."""
    token, token_hash = new_token()
    await runtime.principals.add_token(token_hash, principal_id, "test")
    return token


@contextlib.asynccontextmanager
async def serve(database_url: str, folder: Path, clock: Clock | None = None,
                **settings: Any) -> AsyncIterator[Api]:
    """Open a runtime on ``database_url`` (keys and blobs under ``folder``; other ``settings``
    fields as given), install the built-in templates and the cast, and serve it on 127.0.0.1
    without a background sequencer (tests sequence explicitly). Checklists are applied by
    hand, as HR does where LEDGER_AUTO_APPLY_CHECKLISTS is off, unless a test asks otherwise
    (test_http_auto_apply.py plays the default). ``clock``: the runtime's time, as
    bootstrap takes it."""
    settings.setdefault("auto_apply_checklists", False)
    runtime = await bootstrap(Settings(database_url=database_url, data_dir=folder,
                                          log_origin=TEST_ORIGIN, key_dir=folder / "keys",
                                          **settings), clock=clock or utc_now)
    try:
        await runtime.ledger.install_builtin_templates()
        tokens = await add_cast(runtime)
        server = TestServer(build_site(runtime), host="127.0.0.1")
        await server.start_server()
        try:
            async with aiohttp.ClientSession() as session:
                yield Api(runtime, session, str(server.make_url("")).rstrip("/"), tokens)
        finally:
            await server.close()
    finally:
        await runtime.close()


@contextlib.asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database, dropped afterwards. Skips when no server answers, except
    in CI (the rule of tests/conftest.py, for fixtures wider than one test)."""
    try:
        admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError):
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not answering at {PG_ADMIN_DSN} (required in CI)")
        pytest.skip("PostgreSQL is not answering")
    name = f"ledger_http_{uuid.uuid4().hex[:12]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
