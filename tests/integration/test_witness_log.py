"""The log asks real witnesses (served on 127.0.0.1) to cosign each new checkpoint, on both
stores: cosignatures are stored per checkpoint and served on ``GET /log/checkpoint`` and
``GET /log/checkpoint/{size}``; a 409 is followed from the witness's size; 403, 404 and 422
(a witness shown a fork) are reported in ``/readyz`` and ``/metrics`` without blocking
writes; a witness that is down delays only its own cosignature."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest

from ledger.runtime import Runtime
from ledger.service.context import Actor
from ledger.tlog.checkpoint import Checkpoint, format_checkpoint
from ledger.tlog.note import Signer, sign_note, split_note
from ledger.tlog.proof_text import verify_tlog_proof
from ledger.transparency.keys import load_signers
from ledger.witness.cosignature import WitnessSigner
from ledger.witness.policy import WitnessPolicy
from ledger.witness.protocol import format_submission
from tests.conftest import TEST_ORIGIN
from tests.integration.scenarios import item_with_comments
from tests.support.witness import cosigned_by, get_text, served_witness, witnessed_ledger

HR = Actor("hr.witness", "hr")


@pytest.fixture(params=["sqlite", "postgres"])
def store_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


async def _grown(runtime: Runtime, base: str, past: int) -> str:
    deadline = time.monotonic() + 20
    while True:
        _, text = await get_text(base + "/log/checkpoint")
        if int(text.split("\n")[1]) > past:
            return text
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)


async def test_witnesses_cosign_and_refusals_are_reported(store_kind: str,
                                                          tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    stranger = Signer(TEST_ORIGIN, bytes([9]) * 32)  # a key the log does not hold
    # The log's key is made by bootstrap; the witnesses must trust it, so make it first.
    from ledger.transparency.keys import ensure_signers

    log_signer = ensure_signers(keys, TEST_ORIGIN)[0]
    async with contextlib.AsyncExitStack() as stack:
        good = await stack.enter_async_context(served_witness(tmp_path, log_signer, seed=1))
        forbids = await stack.enter_async_context(served_witness(tmp_path, stranger, seed=2))
        unknown = await stack.enter_async_context(served_witness(
            tmp_path, Signer("other.test/log", bytes([8]) * 32), seed=3))
        forked = await stack.enter_async_context(served_witness(tmp_path, log_signer, seed=4))
        # A witness that cosigns, but with another key than the one configured for it.
        rekeyed = await stack.enter_async_context(served_witness(tmp_path, log_signer, seed=5))
        configured = WitnessSigner(rekeyed.signer.key.name, bytes([55]) * 32).key.vkey
        # Shown a fork of this log first: a checkpoint of size 1 with another root.
        fork = sign_note(format_checkpoint(Checkpoint(TEST_ORIGIN, 1, bytes(32))), [log_signer])
        assert (await forked.post(format_submission(0, [], fork)))[0] == 200
        runtime, base = await stack.enter_async_context(
            witnessed_ledger(store_kind, tmp_path, [good, forbids, unknown, forked, rekeyed],
                             [w.signer.key.vkey for w in (good, forbids, unknown, forked)]
                             + [configured]))
        assert load_signers(keys, TEST_ORIGIN)[0].key_id == log_signer.key_id
        await item_with_comments(runtime.ledger, HR, 3, principals=runtime.principals)
        first = await cosigned_by(base, good)
        size = int(first.split("\n")[1])
        # Writes go on; the next checkpoint is cosigned from the old one by proof.
        await item_with_comments(runtime.ledger, HR, 2)
        later = await cosigned_by(base, good, None)
        assert int(later.split("\n")[1]) > size
        # The older checkpoint keeps its cosignature, and is served by size.
        assert (await get_text(f"{base}/log/checkpoint/{size}")) == (200, first)
        assert (await get_text(f"{base}/log/checkpoint/{10**9}"))[0] == 404
        ready = await get_text(base + "/readyz")
        assert ready[0] == 200, ready  # a refusing witness does not make the ledger unready
        for witness, said in ((forbids, "403"), (unknown, "404"), (good, "cosigned"),
                              (rekeyed, "no-cosignature")):
            assert f"{witness.signer.key.name}: {said}" in ready[1], ready
        # The fork witness: 409 (its size 1) followed, then 422: no proof reaches its fork.
        wanted = [f'ledger_witness_answers_total{{outcome="{outcome}",witness='
                  f'"{witness.signer.key.name}"}}' for witness, outcome in (
                      (forbids, "403"), (unknown, "404"), (forked, "409"), (forked, "422"),
                      (good, "cosigned"))]
        deadline = time.monotonic() + 20
        while not all(w in (metrics := runtime.metrics.render().decode()) for w in wanted):
            assert time.monotonic() < deadline, metrics
            await asyncio.sleep(0.05)
        assert "ledger_witness_round_trip_seconds_count" in metrics


async def test_a_witness_down_does_not_block_writes(store_kind: str, tmp_path: Path) -> None:
    from ledger.transparency.keys import ensure_signers

    log_signer = ensure_signers(tmp_path / "keys", TEST_ORIGIN)[0]
    async with contextlib.AsyncExitStack() as stack:
        witness_cm = served_witness(tmp_path, log_signer, seed=1)
        witness = await witness_cm.__aenter__()
        runtime, base = await stack.enter_async_context(witnessed_ledger(store_kind, tmp_path,
                                                                [witness]))
        await item_with_comments(runtime.ledger, HR, 2, principals=runtime.principals)
        first = await cosigned_by(base, witness)
        size = int(first.split("\n")[1])
        await witness_cm.__aexit__(None, None, None)  # the witness goes down
        started = time.perf_counter()
        await item_with_comments(runtime.ledger, HR, 2)
        assert time.perf_counter() - started < 5
        grown = await _grown(runtime, base, size)  # signed and served without it
        assert "witness.example" not in grown.split("\n\n", 1)[1]
        # Back up, on the same port and state file: it cosigns from the size it holds.
        port = int(witness.url.rsplit(":", 1)[1])
        async with served_witness(tmp_path, log_signer, seed=1, port=port) as again:
            later = await cosigned_by(base, again)
            assert int(later.split("\n")[1]) > size


async def test_two_ledgers_witness_each_other(tmp_path: Path) -> None:
    """Organisations A and B: each runs a witness of the other's log beside its own ledger,
    and each ledger asks the other's witness; both logs end up cosigned by the other side."""
    from ledger.transparency.keys import ensure_signers

    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a_key = ensure_signers(a_dir / "keys", "a.test/log")[0]
    b_key = ensure_signers(b_dir / "keys", "b.test/log")[0]
    async with contextlib.AsyncExitStack() as stack:
        a_witness = await stack.enter_async_context(
            served_witness(a_dir, b_key, seed=1, name="a.test/witness"))  # A watches B
        b_witness = await stack.enter_async_context(
            served_witness(b_dir, a_key, seed=2, name="b.test/witness"))  # B watches A
        a, a_base = await stack.enter_async_context(
            witnessed_ledger("sqlite", a_dir, [b_witness], origin="a.test/log"))
        b, b_base = await stack.enter_async_context(
            witnessed_ledger("sqlite", b_dir, [a_witness], origin="b.test/log"))
        await item_with_comments(a.ledger, HR, 2, principals=a.principals)
        await item_with_comments(b.ledger, HR, 3, principals=b.principals)
        a_note = await cosigned_by(a_base, b_witness)
        b_note = await cosigned_by(b_base, a_witness)
    assert a_note.startswith("a.test/log\n") and "— b.test/witness " in a_note
    assert b_note.startswith("b.test/log\n") and "— a.test/witness " in b_note


async def test_a_hostile_witness_cannot_redirect_the_log_nor_flood_it(tmp_path: Path) -> None:
    # A configured witness is still only a URL: the log must not follow its redirects to
    # another address (SSRF) nor read an answer of any size into memory.
    from aiohttp import web

    from tests.support.witness import Witness

    hits: list[str] = []

    async def victim(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(text="secret")

    async def flood(request: web.Request) -> web.StreamResponse:
        await request.read()
        resp = web.StreamResponse()
        await resp.prepare(request)
        for _ in range(64):  # 16 MiB
            await resp.write(b"x" * (256 * 1024))
        return resp

    runners: list[web.AppRunner] = []
    urls: list[str] = []
    for handler in (victim, flood, None):
        app = web.Application()
        if handler is None:
            async def redirect(request: web.Request) -> web.Response:
                raise web.HTTPTemporaryRedirect(urls[0] + "/internal")
            app.router.add_post("/add-checkpoint", redirect)
        else:
            app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        urls.append(f"http://127.0.0.1:{runner.addresses[0][1]}")
    try:
        hostile = [Witness(url, WitnessSigner(f"hostile.example/{i}", bytes([60 + i]) * 32),
                           tmp_path / f"none-{i}") for i, url in enumerate(urls[1:])]
        async with witnessed_ledger("sqlite", tmp_path, hostile) as (runtime, base):
            await item_with_comments(runtime.ledger, HR, 1, principals=runtime.principals)
            deadline = time.monotonic() + 20
            while True:
                ready = (await get_text(base + "/readyz"))[1]
                if "hostile.example/0: too-large" in ready and "hostile.example/1: 307" in ready:
                    break
                assert time.monotonic() < deadline, ready
                await asyncio.sleep(0.05)
        assert hits == []
    finally:
        for runner in runners:
            await runner.cleanup()


async def test_a_tlog_proof_carries_the_cosignatures_for_a_witness_policy(
        tmp_path: Path) -> None:
    """C2SP tlog-proof: the proof's checkpoint may include witness cosignatures. Served
    with them, a reader holding the proof alone verifies it with the log's key and applies
    "2 of these 2 witnesses" to it; without them (an older proof) it still verifies, and the
    policy says whom it misses."""
    from ledger.transparency.keys import ensure_signers

    log_signer = ensure_signers(tmp_path / "keys", TEST_ORIGIN)[0]
    async with contextlib.AsyncExitStack() as stack:
        one = await stack.enter_async_context(served_witness(tmp_path, log_signer, seed=1))
        two = await stack.enter_async_context(served_witness(tmp_path, log_signer, seed=2))
        runtime, base = await stack.enter_async_context(witnessed_ledger("sqlite", tmp_path,
                                                                         [one, two]))
        written = await item_with_comments(runtime.ledger, HR, 2,
                                           principals=runtime.principals)
        await cosigned_by(base, one)
        await cosigned_by(base, two)
        event_hash = written.comment_hashes[0]
        policy = WitnessPolicy((one.signer.key, two.signer.key), 2)
        deadline = time.monotonic() + 20
        while True:  # until the newest checkpoint has both cosignatures
            _, text = await get_text(f"{base}/v1/log/proof/inclusion?hash={event_hash.hex()}"
                                     "&format=tlog-proof")
            verified = verify_tlog_proof(text.encode(), event_hash, runtime.verifiers,
                                         TEST_ORIGIN)
            outcome = policy.check(*split_note(verified.signed_checkpoint))
            if outcome.satisfied:
                break
            assert time.monotonic() < deadline, f"the proof never carried both: {text}"
            await asyncio.sleep(0.05)
    assert {c.key.name for c in outcome.held} == {one.signer.key.name, two.signer.key.name}
    head, note = text.split("\n\n", 1)
    body, lines = split_note(note.encode())
    bare = f"{head}\n\n{body}\n{lines[0]}\n".encode()  # the log's line only
    alone = verify_tlog_proof(bare, event_hash, runtime.verifiers, TEST_ORIGIN)
    assert alone.checkpoint == verified.checkpoint
    missing = policy.check(*split_note(alone.signed_checkpoint))
    assert not missing.satisfied and len(missing.missing) == 2
