"""The witness (C2SP tlog-witness ``add-checkpoint``) served for real on 127.0.0.1: it cosigns
a trusted log's growth, and refuses forks, rollbacks, unknown logs, untrusted signatures and
bad proofs with the spec's status codes, keeping its state atomically in its SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ledger.tlog import reference
from ledger.tlog.note import Signer, sign_note, split_note
from ledger.witness.cosignature import verify_cosignatures
from ledger.witness.protocol import format_submission
from ledger.witness.state import WitnessState
from tests.support.witness import ORIGIN, ToyLog, served_witness


def _recorded(path: Path) -> tuple[int, bytes] | None:
    state = WitnessState(path)
    try:
        r = state.recorded(ORIGIN)
        return None if r is None else (r.size, r.root)
    finally:
        state.close()


async def test_cosigns_a_growing_log(tmp_path: Path) -> None:
    log = ToyLog().grow(3)
    async with served_witness(tmp_path, log.signer) as w:
        status, text, _ = await w.post(log.submission(0))
        assert status == 200, text
        [held] = verify_cosignatures(log.body(), [text], [w.signer.key])
        log.grow(5)
        status, text, _ = await w.post(log.submission(3))
        assert status == 200, text
        # The response appended to the checkpoint is a note that both keys verify.
        body, lines = split_note(log.note() + text.encode())
        assert len(verify_cosignatures(body, lines, [w.signer.key])) == 1
        status, text, _ = await w.post(log.submission(8))  # the same checkpoint again
        assert status == 200, text
    assert _recorded(w.state_path) == (8, reference.mth(log.entries))
    assert held.timestamp > 1_700_000_000


async def test_refuses_a_rollback(tmp_path: Path) -> None:
    log = ToyLog().grow(7)
    async with served_witness(tmp_path, log.signer) as w:
        assert (await w.post(log.submission(0)))[0] == 200
        # An older checkpoint claiming the witness's size as its old size: 400 (old > size).
        assert (await w.post(format_submission(7, [], log.note(3))))[0] == 400
        # Claiming its own history from 0: 409, and the witness says where it stands.
        assert await w.post(log.submission(0, 3)) == (409, "7\n", "text/x.tlog.size")
        assert await w.post(log.submission(2, 3)) == (409, "7\n", "text/x.tlog.size")
    assert _recorded(w.state_path)[0] == 7  # type: ignore[index]
    state = WitnessState(w.state_path)
    try:
        assert state.conflicts(ORIGIN) == []  # a stale old size is no evidence of anything
    finally:
        state.close()


async def test_refuses_a_fork(tmp_path: Path) -> None:
    log = ToyLog().grow(7)
    fork = ToyLog(entries=log.entries[:5]).grow(2, tag="forked")  # same key, other history
    async with served_witness(tmp_path, log.signer) as w:
        assert (await w.post(log.submission(0)))[0] == 200
        # The same size with another root: 409.
        assert (await w.post(fork.submission(7)))[:2] == (409, "7\n")
        # Growing the fork from the witness's size: its proof cannot verify, 422.
        fork.grow(3)
        status, text, _ = await w.post(fork.submission(7))
        assert status == 422, text
        # ... nor can the honest log's proof be spliced onto the fork's checkpoint.
        spliced = log.submission(7, 7).split(b"\n\n", 1)[0] + b"\n\n" + fork.note()
        assert (await w.post(spliced))[0] == 422
        log.grow(3)
        assert (await w.post(log.submission(7)))[0] == 200  # the honest log goes on
    # The fork's signed checkpoints are kept as evidence, each with why it was refused.
    state = WitnessState(w.state_path)
    try:
        kept = state.conflicts(ORIGIN)
    finally:
        state.close()
    assert [(status, note) for status, _, note in kept] == [
        (409, ToyLog(entries=fork.entries[:7]).note()), (422, fork.note())]  # kept once
    assert kept[0][1] == "another root at the size this witness holds (7)"


async def test_refuses_unknown_origin_untrusted_key_and_malformed(tmp_path: Path) -> None:
    log = ToyLog().grow(2)
    stranger = ToyLog(signer=Signer("other.example/log", bytes([5]) * 32)).grow(2)
    impostor = ToyLog(signer=Signer(ORIGIN, bytes([6]) * 32), entries=log.entries)
    async with served_witness(tmp_path, log.signer) as w:
        assert (await w.post(stranger.submission(0)))[0] == 404
        assert (await w.post(impostor.submission(0)))[0] == 403
        tampered = log.submission(0).replace(b"\n2\n", b"\n3\n")
        assert (await w.post(tampered))[0] == 403
        for bad in (b"", b"old 1\n", b"old 01\n\n" + log.note(), b"new 0\n\n" + log.note(),
                    b"old 0\nnot-base64\n\n" + log.note()):
            assert (await w.post(bad))[0] == 400, bad
        assert (await w.post(format_submission(0, [b"\0" * 32], log.note())))[0] == 422
        assert _recorded(w.state_path) is None
        assert (await w.post(log.submission(0)))[0] == 200


async def test_racing_submissions_never_roll_back(tmp_path: Path) -> None:
    log = ToyLog().grow(2)
    async with served_witness(tmp_path, log.signer) as w:
        assert (await w.post(log.submission(0)))[0] == 200
        bodies = []
        for size in range(3, 13):
            log.grow(1)
            bodies.append(log.submission(2, size))
        results = await asyncio.gather(*(w.post(b) for b in bodies))
    # Every one claims old size 2: exactly one wins, the rest learn the winner's size.
    assert sum(1 for r in results if r[0] == 200) == 1
    won = next(size for size, r in zip(range(3, 13), results, strict=True) if r[0] == 200)
    assert all(r[:2] == (409, f"{won}\n") for r in results if r[0] != 200)
    assert _recorded(w.state_path)[0] == won  # type: ignore[index]


async def test_state_survives_a_restart(tmp_path: Path) -> None:
    log = ToyLog().grow(4)
    async with served_witness(tmp_path, log.signer):
        pass
    async with served_witness(tmp_path, log.signer) as w:
        assert (await w.post(log.submission(0)))[0] == 200
    async with served_witness(tmp_path, log.signer) as w:
        assert (await w.post(log.submission(0)))[:2] == (409, "4\n")
        note = sign_note(log.body(), [log.signer])
        assert (await w.post(format_submission(4, [], note)))[0] == 200


async def test_replayed_refusals_cannot_fill_the_conflicts_table(tmp_path: Path) -> None:
    # Anyone may replay a genuine signed checkpoint with a junk proof (the proof is unsigned)
    # and pad the note with signature lines by unknown keys: each distinct signed checkpoint
    # is kept once, with only the log's own signature lines.
    log = ToyLog().grow(7)
    fork = ToyLog(entries=log.entries[:5]).grow(5, tag="forked")
    async with served_witness(tmp_path, log.signer) as w:
        assert (await w.post(log.submission(0)))[0] == 200
        for i in range(20):
            junk = "".join(f"— junk{i}.example/{j} {'A' * 400}\n" for j in range(20))
            note = fork.note() + junk.encode()
            body = format_submission(7, [bytes([i]) * 32], note)
            assert (await w.post(body))[0] == 422
    state = WitnessState(w.state_path)
    try:
        assert [(status, note) for status, _, note in state.conflicts(ORIGIN)] == [
            (422, fork.note())]
    finally:
        state.close()
