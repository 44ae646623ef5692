"""The sequencer and the log's read side, on every store."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ledger.errors import NotFoundError, VerificationError
from ledger.store import sqlite_log
from ledger.store.factory import log_store_for
from ledger.store.log_port import LogBlock, LogEntryRow
from ledger.store.port import EventStore
from ledger.tlog import reference
from ledger.tlog.checkpoint import open_checkpoint
from ledger.tlog.hashing import hash_leaf
from ledger.tlog.proof import verify_consistency, verify_inclusion
from ledger.tlog.proof_text import verify_tlog_proof
from ledger.tlog.tile import Tile, decode_entry_bundle
from ledger.tlog.tree import rebuild_stored_hashes, stored_hash_count, stored_hash_index
from ledger.transparency.keys import load_signers, load_verifiers
from ledger.transparency.reader import LogReader
from ledger.transparency.sequencer import Sequencer
from tests.conftest import TEST_ORIGIN, drain
from tests.support.events import chain

if TYPE_CHECKING:
    from tests.integration.operator import Operator

MakeSequencer = Callable[..., Sequencer]


@pytest.fixture
async def make_sequencer(store: EventStore) -> AsyncIterator[MakeSequencer]:
    """Sequencers that resign leadership (releasing their connection) after the test."""
    made: list[Sequencer] = []

    def make(store: EventStore, keys: Path, batch_size: int = 100) -> Sequencer:
        sequencer = Sequencer(
            log_store_for(store),
            load_signers(keys, TEST_ORIGIN),
            TEST_ORIGIN,
            batch_size=batch_size,
            poll_interval=0.01,
        )
        made.append(sequencer)
        return sequencer

    yield make
    for sequencer in made:
        await sequencer.store.resign()


async def fill(store: EventStore, streams: int, per_stream: int = 1) -> list[bytes]:
    hashes = []
    for _ in range(streams):
        events = chain(uuid.uuid4(), per_stream)
        await store.append(events)
        hashes += [e.event_hash for e in events]
    return hashes


async def test_sequencer_assigns_gap_free_indexes_and_signs(
    store: EventStore, make_sequencer: MakeSequencer, signer_keys: Path
) -> None:
    sequencer = make_sequencer(store, signer_keys, batch_size=7)
    hashes = await fill(store, 30)
    await drain(sequencer)
    log = log_store_for(store)
    entries = await log.read_entries(0, 100)
    assert [e.index for e in entries] == list(range(30))
    assert sorted(e.event_hash for e in entries) == sorted(hashes)
    assert await store.queued_positions() == []
    latest = await log.latest_checkpoint()
    assert latest is not None
    checkpoint = open_checkpoint(latest.note, load_verifiers(signer_keys), TEST_ORIGIN)
    assert checkpoint.size == 30
    assert checkpoint.root_hash == reference.mth([e.event_hash for e in entries])
    # read back with when the store recorded it (the Verify page shows it; not its identity)
    assert latest.signed_at is not None and latest.signed_at.tzinfo is not None
    assert latest == dataclasses.replace(latest, signed_at=None)


async def test_empty_log_gets_a_signed_checkpoint_of_size_zero(
    store: EventStore, make_sequencer: MakeSequencer, signer_keys: Path
) -> None:
    sequencer = make_sequencer(store, signer_keys)
    assert await sequencer.step() == 0
    latest = await log_store_for(store).latest_checkpoint()
    assert latest is not None
    assert latest.size == 0
    assert await sequencer.step() == 0  # nothing new: no second checkpoint
    assert len(await log_store_for(store).checkpoints()) == 1


async def test_tiles_and_entry_bundles_match_the_reference_tree(
    store: EventStore, make_sequencer: MakeSequencer, signer_keys: Path
) -> None:
    sequencer = make_sequencer(store, signer_keys, batch_size=200)
    await fill(store, 300)
    await drain(sequencer)
    reader = LogReader(log_store_for(store))
    bundle = decode_entry_bundle(await reader.tile(Tile(8, -1, 0, 256)))
    partial = decode_entry_bundle(await reader.tile(Tile(8, -1, 1, 44)))
    leaves = [hash_leaf(h) for h in bundle + partial]
    assert len(leaves) == 300
    level0 = await reader.tile(Tile(8, 0, 0, 256))
    assert level0 == b"".join(leaves[:256])
    level1 = await reader.tile(Tile(8, 1, 0, 1))
    assert level1 == reference.mth(bundle)
    with pytest.raises(NotFoundError):
        await reader.tile(Tile(8, 0, 1, 45))


async def test_inclusion_and_consistency_proofs_verify(
    store: EventStore, make_sequencer: MakeSequencer, signer_keys: Path
) -> None:
    sequencer = make_sequencer(store, signer_keys, batch_size=13)
    hashes = await fill(store, 40)
    await drain(sequencer)
    reader = LogReader(log_store_for(store))
    for event_hash in hashes[::7]:
        proof = await reader.inclusion(event_hash)
        verify_inclusion(proof.index, proof.size, hash_leaf(event_hash), proof.proof, proof.root)
        older = await reader.inclusion(event_hash, size=proof.index + 1)
        verify_inclusion(older.index, older.size, hash_leaf(event_hash), older.proof, older.root)
        text = await reader.tlog_proof(event_hash)
        verified = verify_tlog_proof(text, event_hash, load_verifiers(signer_keys), TEST_ORIGIN)
        assert verified.index == proof.index
    consistency = await reader.consistency(13, 40)
    verify_consistency(13, 40, consistency.proof, consistency.root1, consistency.root2)


async def test_unsequenced_event_has_no_proof_until_sequenced(
    store: EventStore, make_sequencer: MakeSequencer, signer_keys: Path
) -> None:
    sequencer = make_sequencer(store, signer_keys)
    [event_hash] = await fill(store, 1)
    reader = LogReader(log_store_for(store))
    with pytest.raises(NotFoundError):
        await reader.inclusion(event_hash)
    stop = asyncio.Event()
    task = asyncio.create_task(sequencer.run(stop))
    try:
        index = await sequencer.wait_for_inclusion(event_hash, 5)
    finally:
        stop.set()
        await task
    assert index == 0


async def test_indexes_of_many_hashes_come_in_one_lookup(
    store: EventStore, make_sequencer: MakeSequencer, signer_keys: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # SQLite binds at most MAX_SQL_VARIABLES hashes per query: a small limit makes 23 hashes
    # take several, which must still answer as one.
    monkeypatch.setattr(sqlite_log, "MAX_SQL_VARIABLES", 7)
    sequencer = make_sequencer(store, signer_keys)
    sequenced = await fill(store, 20)
    await drain(sequencer)
    queued = await fill(store, 2)
    log = log_store_for(store)
    asked = [*reversed(sequenced), *queued, b"\x00" * 32, sequenced[0]]
    found = await log.find_indexes(asked)
    assert found == {h: await log.find_index(h) for h in sequenced}
    assert sorted(found.values()) == list(range(20))
    assert await log.find_indexes([]) == {}


async def test_sequencer_refuses_to_sign_a_tree_inconsistent_with_its_last_checkpoint(
    store: EventStore,
    make_sequencer: MakeSequencer,
    signer_keys: Path,
    operator: Operator,
) -> None:
    sequencer = make_sequencer(store, signer_keys)
    await fill(store, 5)
    await drain(sequencer)
    await operator.disable_guards()
    # The stored hash of the subtree [0, 4): both the new root and the proof use it.
    await operator.rewrite_hash(stored_hash_index(2, 0), bytes(32))
    await fill(store, 1)
    with pytest.raises(VerificationError, match="refusing to sign tree size 6"):
        await sequencer.step()
    assert (await log_store_for(store).latest_checkpoint()).size == 5  # type: ignore[union-attr]


async def test_audit_reads_return_blocks_in_index_order(
    store: EventStore, make_sequencer: MakeSequencer, signer_keys: Path
) -> None:
    sequencer = make_sequencer(store, signer_keys, batch_size=40)
    await fill(store, 100)
    await drain(sequencer)
    log = log_store_for(store)
    entries = await log.read_entries(0, 100)
    block = await log.read_entry_block(10, 25)
    assert block.indexes == list(range(10, 35))
    assert block.positions == [e.position for e in entries[10:35]]
    assert block.hashes == b"".join(e.event_hash for e in entries[10:35])
    assert (await log.read_entry_block(95, 25)).indexes == list(range(95, 100))
    assert await log.read_entry_block(100, 25) == LogBlock([], [], b"")
    hashes = await log.read_hash_block(0, 10_000)
    assert hashes.indexes == list(range(stored_hash_count(100)))
    assert hashes.positions == []
    assert hashes.hashes == rebuild_stored_hashes(block_hashes(entries))[0]
    rows = await store.read_for_audit(after=3, limit=4)
    events = await store.read_all(after=3, limit=4)
    assert [tuple(r) for r in rows] == [
        (e.position, str(e.event_id), e.stream_type, str(e.stream_id), e.version, e.event_type,
         e.event_hash, e.entry) for e in events]


def block_hashes(entries: list[LogEntryRow]) -> bytes:
    return b"".join(e.event_hash for e in entries)


async def test_audit_reads_of_tiles_checkpoints_duplicates_and_positions(
    store: EventStore, make_sequencer: MakeSequencer, signer_keys: Path
) -> None:
    sequencer = make_sequencer(store, signer_keys, batch_size=40)
    await fill(store, 100)
    await drain(sequencer)
    log = log_store_for(store)
    sizes = [c.size for c in await log.checkpoints()]
    assert [c.size for c in await log.read_checkpoint_block(-1, 2)] == sizes[:2]
    assert [c.size for c in await log.read_checkpoint_block(40, 10)] == [
        s for s in sizes if s > 40]
    assert await log.read_checkpoint_block(100, 10) == []
    assert await log.read_tile_block(0, 0, 10) == [(0, 100, await log.read_tile(0, 0))]
    assert await log.read_tile_block(0, 1, 10) == []
    entries = await log.read_entries(0, 100)
    wanted = [entries[3].position, entries[57].position, 10**9]
    assert await log.indexes_of_positions(wanted) == {entries[3].position: 3,
                                                      entries[57].position: 57}
    assert await log.duplicate_entries(10) == []


async def test_a_streams_log_key_is_its_latest_index_or_after_the_audited_size(
    store: EventStore, make_sequencer: MakeSequencer, signer_keys: Path
) -> None:
    sequencer = make_sequencer(store, signer_keys, batch_size=40)
    stream = uuid.uuid4()
    await store.append(chain(stream, 3))
    await drain(sequencer)
    log = log_store_for(store)
    positions = [e.position for e in await log.read_entries(0, 3)]
    assert await log.stream_log_keys([str(stream), str(uuid.uuid4())], 3) == {str(stream): 2}
    # Audited as of size 2, its third event counts as not yet sequenced: after every index.
    assert await log.stream_log_keys([str(stream)], 2) == {str(stream): 2 + positions[2]}
