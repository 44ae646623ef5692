"""A toy log (RFC 6962 reference tree, a real signing key) and a real witness served on
127.0.0.1, for the witness tests."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from api.app import build_app
from ledger.bootstrap import bootstrap
from ledger.runtime import Runtime
from ledger.settings import Settings
from ledger.tlog import reference
from ledger.tlog.checkpoint import Checkpoint, format_checkpoint
from ledger.tlog.note import Signer, sign_note, split_note
from ledger.witness.cosignature import WitnessSigner
from ledger.witness.policy import WitnessPolicy
from ledger.witness.protocol import format_submission
from ledger.witness.server import build_witness_app, trusted_logs
from ledger.witness.settings import WitnessSettings
from ledger.witness.state import WitnessState
from tests.conftest import TEST_ORIGIN
from tests.integration.http_fixtures import postgres_database

ORIGIN = "toy.example/log"


@dataclass
class ToyLog:
    """A log of ``entries`` signed by ``signer`` (its name is the origin)."""

    signer: Signer = field(default_factory=lambda: Signer(ORIGIN, bytes([42]) * 32))
    entries: list[bytes] = field(default_factory=list)

    def grow(self, n: int, tag: str = "e") -> ToyLog:
        self.entries += [f"{tag}{len(self.entries) + i}".encode() for i in range(n)]
        return self

    def body(self, size: int | None = None) -> str:
        size = len(self.entries) if size is None else size
        return format_checkpoint(Checkpoint(self.signer.name, size,
                                            reference.mth(self.entries[:size])))

    def note(self, size: int | None = None) -> bytes:
        return sign_note(self.body(size), [self.signer])

    def submission(self, old: int, size: int | None = None) -> bytes:
        size = len(self.entries) if size is None else size
        proof = reference.proof(old, self.entries[:size]) if old else []
        return format_submission(old, proof, self.note(size))


@dataclass
class Witness:
    """A witness served on loopback: its URL, signer and state file."""

    url: str
    signer: WitnessSigner
    state_path: Path

    async def post(self, body: bytes) -> tuple[int, str, str]:
        async with aiohttp.ClientSession() as session, session.post(
                self.url + "/add-checkpoint", data=body) as resp:
            return resp.status, await resp.text(), resp.content_type


@contextlib.asynccontextmanager
async def served_witness(tmp: Path, *logs: Signer, seed: int = 7,
                         name: str | None = None, port: int = 0) -> AsyncIterator[Witness]:
    """A witness trusting ``logs``' keys, served with aiohttp's AppRunner on 127.0.0.1; its
    name (default ``witness.example/w<seed>``) and key follow from ``seed``; ``port`` 0 is
    one the system chooses."""
    name = name or f"witness.example/w{seed}"
    signer = WitnessSigner(name, bytes([seed]) * 32)
    path = tmp / f"witness-{seed}.db"
    state = WitnessState(path)
    app = build_witness_app(signer, state, trusted_logs([s.verifier for s in logs]))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        yield Witness(f"http://127.0.0.1:{runner.addresses[0][1]}", signer, path)
    finally:
        await runner.cleanup()
        state.close()


@contextlib.asynccontextmanager
async def witnessed_ledger(kind: str, folder: Path, witnesses: list[Witness],
                           keys: list[str] | None = None, origin: str = TEST_ORIGIN
                           ) -> AsyncIterator[tuple[Runtime, str]]:
    """A ledger of log ``origin`` on ``kind`` (sqlite, postgres) submitting to ``witnesses``
    (configured with their own keys, or ``keys``), served on 127.0.0.1 with its workers
    running; yields it and its base URL."""
    database: contextlib.AbstractAsyncContextManager[str] = (
        postgres_database() if kind == "postgres"
        else contextlib.nullcontext(f"sqlite:///{folder}/l.db"))
    settings = WitnessSettings(urls=tuple(w.url for w in witnesses),
                               keys=tuple(keys or (w.signer.key.vkey for w in witnesses)),
                               timeout_seconds=5.0, retry_max_seconds=0.2)
    async with database as url:
        runtime = await bootstrap(Settings(database_url=url, data_dir=folder,
                                              log_origin=origin, key_dir=folder / "keys",
                                              witnesses=settings, scheduler=False))
        server = TestServer(build_app(runtime), host="127.0.0.1")
        await server.start_server()
        await runtime.workers.start()
        try:
            yield runtime, str(server.make_url("")).rstrip("/")
        finally:
            await runtime.workers.stop()
            await server.close()
            await runtime.close()


async def get_text(url: str) -> tuple[int, str]:
    """The status and text of a GET."""
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        return r.status, await r.text()


async def cosigned_by(base: str, witness: Witness, size: int | None = None) -> str:
    """The served checkpoint (of ``size``) once ``witness`` cosigned it (waits up to 20 s)."""
    path = "/log/checkpoint" + ("" if size is None else f"/{size}")
    policy = WitnessPolicy((witness.signer.key,), 1)
    deadline = time.monotonic() + 20
    while True:
        status, text = await get_text(base + path)
        if status == 200:
            body, lines = split_note(text.encode())
            if policy.check(body, lines).satisfied:
                return text
        assert time.monotonic() < deadline, f"never cosigned by {witness.url}: {text}"
        await asyncio.sleep(0.05)
