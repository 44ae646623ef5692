"""``ledger audit`` against a real HTTP server on loopback: a clean log passes, a monitor proves
consistency between runs, and tampering is named by tile, log index, fork or rollback."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import shutil
import socket
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from api.app import build_app
from ledger.bootstrap import bootstrap
from ledger.cli import main
from ledger.errors import (
    ConfigurationError,
    InvalidInputError,
    NotFoundError,
    PushbackError,
    VerificationError,
)
from ledger.runtime import Runtime
from ledger.service.context import Actor
from ledger.settings import Settings
from ledger.tlog.checkpoint import Checkpoint, format_checkpoint
from ledger.tlog.note import Verifier, generate_key, parse_verifier_key, sign_note
from ledger.tlog.tile import changed_tiles
from ledger.transparency.audit import AuditFailedError, AuditState, audit_log, save_state
from ledger.transparency.keys import load_signers
from ledger.transparency.log_identity import MARKER
from tests.conftest import TEST_ORIGIN, drain
from tests.integration.scenarios import item_with_comments

HR = Actor("hr.audit", "hr")
COMMENTS = 300
OVERHEAD = 4  # events of starting, submitting and adding an item, before the comments
SIZE = OVERHEAD + COMMENTS


@dataclass
class Served:
    """One ledger behind a real aiohttp server; ``requests`` records every path asked for."""

    runtime: Runtime
    server: TestServer
    requests: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.server.make_url("/"))

    @property
    def verifier(self) -> Verifier:
        return self.runtime.verifiers[0]

    @property
    def settings(self) -> Settings:
        return self.runtime.settings


OpenLedger = Callable[[Settings], Awaitable[Served]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def sqlite_settings(folder: Path) -> Settings:
    folder.mkdir(parents=True, exist_ok=True)
    return Settings(database_url=f"sqlite:///{folder}/l.db", data_dir=folder,
                    log_origin=TEST_ORIGIN, key_dir=folder / "keys")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings of a fresh ledger on each store."""
    if request.param == "sqlite":
        return sqlite_settings(tmp_path / "ledger")
    dsn: str = request.getfixturevalue("pg_dsn")
    return Settings(database_url=dsn, data_dir=tmp_path, log_origin=TEST_ORIGIN,
                    key_dir=tmp_path / "keys")


@pytest.fixture
async def open_ledger() -> AsyncIterator[OpenLedger]:
    """Serve ledgers on 127.0.0.1 with the sequencer driven by the test; stops them after."""
    opened: list[Served] = []

    async def open_(settings: Settings) -> Served:
        runtime = await bootstrap(settings)
        app = build_app(runtime)
        served = Served(runtime, TestServer(app, host="127.0.0.1"))

        @web.middleware
        async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
            served.requests.append(request.path_qs)
            return await handler(request)

        app.middlewares.append(record)
        await served.server.start_server()
        opened.append(served)
        await sequence(served)  # the first step signs the empty tree
        return served

    yield open_
    for served in opened:
        await served.server.close()
        await served.runtime.close()


@pytest.fixture
async def served(settings: Settings, open_ledger: OpenLedger) -> Served:
    """A served ledger whose log holds SIZE entries, all sequenced and signed.

    ``settings`` comes first so its database outlives the server and runtime on teardown.
    """
    ledger = await open_ledger(settings)
    await write_events(ledger, COMMENTS)
    return ledger


async def sequence(served: Served) -> None:
    await drain(served.runtime.sequencer)


async def write_events(served: Served, comments: int) -> None:
    """Append OVERHEAD + ``comments`` events (one departure, one item) and sequence them."""
    await item_with_comments(served.runtime.ledger, HR, comments,
                             principals=served.runtime.principals)
    await sequence(served)


async def tamper(settings: Settings, sql: str, *args: object, guards_off: bool = False) -> None:
    """Run ``sql`` ($1-style parameters) as a rogue operator, optionally without the guards."""
    if settings.database_url.startswith("sqlite:///"):
        path = settings.database_url.removeprefix("sqlite:///")
        with contextlib.closing(sqlite3.connect(path)) as conn, conn:
            if guards_off:
                for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = "
                                            "'trigger' AND tbl_name LIKE 'log_%'").fetchall():
                    conn.execute(f'DROP TRIGGER "{name}"')
            conn.execute(re.sub(r"\$\d+", "?", sql), args)
        return
    pg = await asyncpg.connect(settings.database_url)
    try:
        if guards_off:
            for table in ("log_entries", "log_hashes", "checkpoints"):
                await pg.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        await pg.execute(sql, *args)
    finally:
        await pg.close()


def flipped(data: bytes, at: int) -> bytes:
    changed = bytearray(data)
    changed[at] ^= 0x01
    return bytes(changed)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def test_clean_log_passes_and_the_state_records_its_checkpoint(
        served: Served, tmp_path: Path) -> None:
    state = tmp_path / "audit-state.json"
    progress: list[tuple[int, int]] = []
    report = await audit_log(served.url, [served.verifier], state_path=state,
                             progress=lambda done, total: progress.append((done, total)))
    assert report.checkpoint.size == SIZE
    assert report.previous is None
    assert (report.tiles, report.bundles) == (len(changed_tiles(0, SIZE)), 2)
    assert progress[0] == (0, report.tiles + report.bundles)
    assert progress[-1] == (report.tiles + report.bundles,) * 2
    saved = json.loads(state.read_text())
    assert (saved["origin"], saved["size"]) == (TEST_ORIGIN, SIZE)
    assert saved["root"] == b64(report.checkpoint.root_hash)
    assert saved["checkpoint"].encode() == report.note
    # An outside auditor's view: the public log endpoints, and never the server's key.
    assert {p.split("?")[0] for p in served.requests} >= {"/log/checkpoint",
                                                           "/log/tile/0/001.p/48",
                                                           "/log/tile/entries/000",
                                                           "/log/tile/1/000.p/1"}
    assert all(p.startswith("/log/tile/") or p == "/log/checkpoint" for p in served.requests)


async def test_second_run_proves_consistency_with_the_first(served: Served,
                                                            tmp_path: Path) -> None:
    state = tmp_path / "audit-state.json"
    first = await audit_log(served.url, [served.verifier], state_path=state)
    await write_events(served, 200)
    second = await audit_log(served.url, [served.verifier], state_path=state)
    assert second.checkpoint.size == SIZE + OVERHEAD + 200
    assert second.previous == AuditState(TEST_ORIGIN, SIZE, first.checkpoint.root_hash,
                                         first.note)
    assert f"/v1/log/proof/consistency?from={SIZE}&to={SIZE + OVERHEAD + 200}" in served.requests
    assert json.loads(state.read_text())["size"] == SIZE + OVERHEAD + 200
    third = await audit_log(served.url, [served.verifier], state_path=state)
    assert third.previous is not None and third.previous.size == third.checkpoint.size


async def test_wrong_key_fails_and_leaves_no_state(served: Served, tmp_path: Path) -> None:
    state = tmp_path / "audit-state.json"
    wrong = parse_verifier_key(generate_key(TEST_ORIGIN)[1])
    with pytest.raises(VerificationError, match="log/checkpoint: note has no verifiable sig"):
        await audit_log(served.url, [wrong], state_path=state)
    assert not state.exists()


async def test_altered_level_0_tile_is_named_with_its_log_index(served: Served,
                                                                tmp_path: Path) -> None:
    state = tmp_path / "audit-state.json"
    await audit_log(served.url, [served.verifier], state_path=state)
    before = state.read_bytes()
    tile = await served.runtime.log.read_tile(0, 0)
    assert tile is not None
    await tamper(served.settings, "UPDATE log_tiles SET data = $1 WHERE level = 0 AND n = 0",
                 flipped(tile, 5 * 32 + 7))
    with pytest.raises(VerificationError, match=r"tile/0/000: hash 5 is not the leaf hash of "
                       r"log index 5 recomputed from tile/entries/000 \(tile altered") as info:
        await audit_log(served.url, [served.verifier], state_path=state)
    assert isinstance(info.value, AuditFailedError) and len(info.value.problems) == 1
    assert info.value.problems[0].index == 5
    assert state.read_bytes() == before  # a failed audit never moves the monitor's state


async def test_altered_higher_tile_is_named(served: Served) -> None:
    tile = await served.runtime.log.read_tile(1, 0)
    assert tile is not None
    await tamper(served.settings, "UPDATE log_tiles SET data = $1 WHERE level = 1 AND n = 0",
                 flipped(tile, 0))
    with pytest.raises(VerificationError, match=r"tile/1/000\.p/1: hash 0 \(tree level 8, "
                       r"node 0\) does not match the subtree hash"):
        await audit_log(served.url, [served.verifier])


async def test_rewritten_log_entry_breaks_its_tile_and_the_root(served: Served) -> None:
    await tamper(served.settings, "UPDATE log_entries SET event_hash = $1 WHERE idx = 263",
                 bytes(32), guards_off=True)
    with pytest.raises(VerificationError, match=r"tile/0/001\.p/48: hash 7 is not the leaf hash "
                       r"of log index 263 .*; checkpoint root .* of size 304 does not match"):
        await audit_log(served.url, [served.verifier])


async def test_forged_consistency_proof_is_reported_as_a_fork(served: Served,
                                                              tmp_path: Path) -> None:
    state = tmp_path / "audit-state.json"
    await audit_log(served.url, [served.verifier], state_path=state)
    await write_events(served, 20)
    # The tiles and entries stay honest; only the hashes the proofs are built from change.
    await tamper(served.settings, "UPDATE log_hashes SET hash = $1", bytes(32), guards_off=True)
    with pytest.raises(VerificationError, match=rf"fork: the log's consistency proof from size "
                       rf"{SIZE} \(root .*\) to size {SIZE + OVERHEAD + 20} .* does not verify"):
        await audit_log(served.url, [served.verifier], state_path=state)
    assert json.loads(state.read_text())["size"] == SIZE


async def test_log_forked_from_the_monitored_one_is_reported_with_both_roots(
        served: Served, open_ledger: OpenLedger, tmp_path: Path) -> None:
    # Another ledger of the same origin, signed with the same key: a split view. The key
    # holder copies the keys without the folder's log binding (which would refuse to start).
    other_settings = sqlite_settings(tmp_path / "other")
    shutil.copytree(served.settings.key_dir, other_settings.key_dir,
                    ignore=shutil.ignore_patterns(MARKER))
    other = await open_ledger(other_settings)
    await write_events(other, 50)
    state = tmp_path / "audit-state.json"
    seen = await audit_log(other.url, [served.verifier], state_path=state)
    with pytest.raises(VerificationError, match=r"fork: the log's tree at size 54 has root "
                       r"\S+, but the checkpoint verified before has size 54 \(root "
                       + re.escape(b64(seen.checkpoint.root_hash)) + r"\)") as info:
        await audit_log(served.url, [served.verifier], state_path=state)
    assert f"current checkpoint has size {SIZE}" in str(info.value)
    assert json.loads(state.read_text())["size"] == OVERHEAD + 50


async def test_state_claiming_a_larger_size_is_reported_as_a_rollback(
        served: Served, tmp_path: Path) -> None:
    # A checkpoint the key holder signed for a bigger tree than the log now shows.
    signers = load_signers(served.settings.key_dir, TEST_ORIGIN)
    bigger = Checkpoint(TEST_ORIGIN, SIZE + 100, bytes(range(32)))
    state = tmp_path / "audit-state.json"
    save_state(state, AuditState(TEST_ORIGIN, bigger.size, bigger.root_hash,
                                 sign_note(format_checkpoint(bigger), signers)))
    with pytest.raises(VerificationError, match=rf"rollback: the log's checkpoint has size "
                       rf"{SIZE} \(root .*\), smaller than the checkpoint of size {SIZE + 100} "
                       + re.escape(f"(root {b64(bytes(range(32)))})")):
        await audit_log(served.url, [served.verifier], state_path=state)
    assert json.loads(state.read_text())["size"] == SIZE + 100


async def test_state_file_edited_by_hand_is_refused(served: Served, tmp_path: Path) -> None:
    state = tmp_path / "audit-state.json"
    await audit_log(served.url, [served.verifier], state_path=state)
    doc = json.loads(state.read_text())
    state.write_text(json.dumps({**doc, "size": 1}))
    with pytest.raises(VerificationError, match="size and root disagree with its checkpoint"):
        await audit_log(served.url, [served.verifier], state_path=state)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/", "127.0.0.1:8080",
                                 "http:///log", "http://127.0.0.1/?x=1"])
async def test_refuses_urls_other_than_http(url: str) -> None:
    _, vkey = generate_key(TEST_ORIGIN)
    with pytest.raises(InvalidInputError, match=r"only http|query"):
        await audit_log(url, [parse_verifier_key(vkey)])


@pytest.fixture
async def misbehaving() -> AsyncIterator[str]:
    """A server answering ``/<case>/log/checkpoint`` badly; yields its base URL."""

    async def gone(request: web.Request) -> web.Response:
        return web.Response(status=404)

    async def busy(request: web.Request) -> web.Response:
        return web.Response(status=503, headers={"Retry-After": "7"})

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://example.invalid/log/checkpoint")

    async def huge(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 100_000)

    app = web.Application()
    for name, handler in {"gone": gone, "busy": busy, "moved": moved, "huge": huge}.items():
        app.router.add_get(f"/{name}/log/checkpoint", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("/"))
    await server.close()


@pytest.mark.parametrize(("case", "error", "match"), [
    ("gone", NotFoundError, r"/gone/log/checkpoint: HTTP 404"),
    ("busy", PushbackError, r"/busy/log/checkpoint: HTTP 503, try again later"),
    ("moved", ConfigurationError, r"/moved/log/checkpoint: HTTP 302"),
    ("huge", VerificationError, r"/huge/log/checkpoint: answer larger than 65536 bytes"),
])
async def test_http_failures_are_mapped_to_ledger_errors(
        misbehaving: str, case: str, error: type[Exception], match: str) -> None:
    verifier = parse_verifier_key(generate_key(TEST_ORIGIN)[1])
    with pytest.raises(error, match=match) as info:
        await audit_log(misbehaving + case, [verifier])
    if isinstance(info.value, PushbackError):
        assert info.value.retry_after == 7


async def test_unreachable_server_is_pushback() -> None:
    verifier = parse_verifier_key(generate_key(TEST_ORIGIN)[1])
    # Bound but not listening: connections are refused, and no other test (or xdist worker)
    # can take the port while the socket holds it.
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
        with pytest.raises(PushbackError, match=rf"127\.0\.0\.1:{port}/log/checkpoint"):
            await audit_log(f"http://127.0.0.1:{port}", [verifier], request_timeout=5)


async def test_cli_prints_ok_then_failed_and_never_opens_a_database(
        served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEDGER_DATABASE_URL", raising=False)
    args = ["audit", served.url, "--key", served.verifier.vkey]
    assert await asyncio.to_thread(main, args) == 0
    assert re.search(rf"OK: {TEST_ORIGIN} size {SIZE} root \S+; 3 hash tile\(s\) and 2 "
                     r"entry bundle\(s\) checked; no previous state", capsys.readouterr().out)
    assert (tmp_path / "ledger-audit-state.json").exists()
    assert not (tmp_path / "ledger-data").exists()
    await write_events(served, 1)
    assert await asyncio.to_thread(main, args) == 0
    assert f"consistent with the previous checkpoint of size {SIZE}" in capsys.readouterr().out
    tile = await served.runtime.log.read_tile(0, 0)
    assert tile is not None
    await tamper(served.settings, "UPDATE log_tiles SET data = $1 WHERE level = 0 AND n = 0",
                 flipped(tile, 0))
    assert await asyncio.to_thread(main, args) == 1
    assert "FAILED: tile/0/000: hash 0 is not the leaf hash" in capsys.readouterr().out
