"""The public log endpoints through a real aiohttp server on 127.0.0.1, on every store."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from api.app import build_app
from ledger.bootstrap import bootstrap
from ledger.runtime import Runtime
from ledger.service.context import Actor
from ledger.settings import Settings
from ledger.tlog.checkpoint import open_checkpoint
from ledger.tlog.hashing import hash_leaf
from ledger.tlog.proof import verify_consistency, verify_inclusion
from ledger.tlog.proof_text import verify_tlog_proof
from ledger.tlog.tile import decode_entry_bundle
from tests.conftest import TEST_ORIGIN, drain
from tests.integration.http_fixtures import postgres_database
from tests.integration.scenarios import item_with_comments

HR = Actor("hr.http", "hr")

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class Client:
    runtime: Runtime
    session: aiohttp.ClientSession
    base: str
    event_hashes: list[bytes]

    async def get(self, path: str, **headers: str) -> aiohttp.ClientResponse:
        response = await self.session.get(self.base + path, headers=headers)
        await response.read()
        return response


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(store_kind: str, tmp_path_factory: pytest.TempPathFactory
                 ) -> AsyncIterator[Client]:
    """One served log of 301 entries per store, shared by the module's (read-only) tests."""
    folder = tmp_path_factory.mktemp(f"log-http-{store_kind}")
    database: contextlib.AbstractAsyncContextManager[str] = (
        postgres_database() if store_kind == "postgres"
        else contextlib.nullcontext(f"sqlite:///{folder}/l.db"))
    async with database as url:
        runtime = await bootstrap(Settings(database_url=url, data_dir=folder,
                                              log_origin=TEST_ORIGIN, key_dir=folder / "keys"))
        try:
            server = TestServer(build_app(runtime), host="127.0.0.1")
            await server.start_server()
            try:
                written = await item_with_comments(runtime.ledger, HR, 297, text="note {n}",
                                                   principals=runtime.principals)
                await drain(runtime.sequencer)
                async with aiohttp.ClientSession() as session:
                    yield Client(runtime, session, str(server.make_url("")),
                                 written.comment_hashes)
            finally:
                await server.close()
        finally:
            await runtime.close()


async def test_checkpoint_is_signed_text_with_a_short_cache(client: Client) -> None:
    response = await client.get("/log/checkpoint")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "max-age" in response.headers["Cache-Control"]
    checkpoint = open_checkpoint(await response.read(), client.runtime.verifiers, TEST_ORIGIN)
    assert checkpoint.size == 301


async def test_key_lists_the_verifier_keys(client: Client) -> None:
    response = await client.get("/log/key")
    assert (await response.text()).splitlines() == [v.vkey for v in client.runtime.verifiers]


async def test_tiles_and_entry_bundles_are_served_with_a_long_cache(client: Client) -> None:
    full = await client.get("/log/tile/0/000")
    assert full.status == 200
    assert full.headers["Content-Type"] == "application/octet-stream"
    assert "immutable" in full.headers["Cache-Control"]
    entries = decode_entry_bundle(await (await client.get("/log/tile/entries/000")).read())
    assert b"".join(hash_leaf(h) for h in entries) == await full.read()
    partial = await client.get("/log/tile/entries/001.p/45")
    assert len(decode_entry_bundle(await partial.read())) == 45
    assert (await client.get("/log/tile/0/001.p/45")).status == 200
    assert (await client.get("/log/tile/0/001.p/46")).status == 404
    bad = await client.get("/log/tile/0/x000/001")
    assert bad.status == 422
    assert bad.headers["Content-Type"].startswith("application/problem+json")


async def test_inclusion_proof_as_json_and_as_tlog_proof(client: Client) -> None:
    event_hash = client.event_hashes[100]
    response = await client.get(f"/v1/log/proof/inclusion?hash={event_hash.hex()}")
    body = await response.json()
    proof = [base64.b64decode(h) for h in body["proof"]]
    verify_inclusion(body["index"], body["size"], hash_leaf(event_hash), proof,
                     base64.b64decode(body["root"]))
    text = await client.get(f"/v1/log/proof/inclusion?hash={event_hash.hex()}",
                            Accept="text/x.tlog.proof")
    verified = verify_tlog_proof(await text.read(), event_hash, client.runtime.verifiers,
                                 TEST_ORIGIN)
    assert verified.index == body["index"]


async def test_consistency_proof_verifies(client: Client) -> None:
    body = await (await client.get("/v1/log/proof/consistency?from=10&to=301")).json()
    verify_consistency(10, 301, [base64.b64decode(h) for h in body["proof"]],
                       base64.b64decode(body["root1"]), base64.b64decode(body["root2"]))


@pytest.mark.parametrize(("path", "status"), [
    ("/v1/log/proof/inclusion?hash=zz", 422),
    ("/v1/log/proof/inclusion?hash=" + "00" * 32, 404),
    ("/v1/log/proof/consistency?from=5", 422),
    ("/v1/log/proof/consistency?from=5&to=999", 422),
    ("/v1/log/proof/consistency?from=-1&to=5", 422),
])
async def test_bad_proof_requests_are_problem_json(client: Client, path: str,
                                                   status: int) -> None:
    response = await client.get(path)
    assert response.status == status
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert "Traceback" not in await response.text()
