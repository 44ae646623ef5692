"""Tampering with the log is detected by ``verify_ledger``, naming the index, tile or
checkpoint: with the tree audited in this process, by a child process, and by the fallback
when no child can do it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ledger.store.factory import log_store_for
from ledger.store.log_port import LogBlock
from ledger.store.port import EventStore
from ledger.tlog.checkpoint import Checkpoint, format_checkpoint
from ledger.tlog.note import generate_key, parse_signer_key, sign_note
from ledger.tlog.tree import stored_hash_count
from ledger.transparency import verify_log
from ledger.transparency.entry_feed import EntryFeed
from ledger.transparency.keys import load_signers, load_verifiers
from ledger.transparency.sequencer import Sequencer
from ledger.transparency.verify_log import LogReport
from ledger.verify import verify_ledger
from tests.conftest import TEST_ORIGIN, drain
from tests.contract.test_log_contract import fill
from tests.integration.operator import Operator, PostgresOperator
from tests.support.events import chain


@pytest.fixture
async def logged(store: EventStore, signer_keys: Path) -> AsyncIterator[Sequencer]:
    """300 events sequenced in three batches (three checkpoints)."""
    sequencer = Sequencer(
        log_store_for(store), load_signers(signer_keys, TEST_ORIGIN), TEST_ORIGIN, batch_size=120
    )
    await fill(store, 300)
    await drain(sequencer)
    yield sequencer
    await sequencer.store.resign()


Audit = Callable[[EventStore, Path], Awaitable[LogReport]]


@dataclass
class Fed:
    """The log entries the child handed on to the parent's match (``entry_feed``)."""

    wait: bool = False  # at the matcher's first read, wait for the child's first block
    served: list[int] = field(default_factory=list)  # where each block handed on starts


@pytest.fixture
def fed() -> Fed:
    return Fed()


@pytest.fixture(params=["here", "child", "child-fails"])
def audit(request: pytest.FixtureRequest, sqlite_path: Path, monkeypatch: pytest.MonkeyPatch,
          fed: Fed) -> Audit:
    """The log audit, run each way ``ledger verify`` can run it. The matcher reads 64 log
    entries at a time, so a child's blocks (300 entries) can hand some on to it."""
    monkeypatch.setattr(verify_log, "MATCH_BLOCK", 64)
    read = EntryFeed.block
    waited: list[bool] = []

    def block(feed: EntryFeed, start: int, limit: int) -> LogBlock | None:
        # A child takes a moment to start: the chain check of 300 events does not.
        deadline = time.monotonic() + (20 if fed.wait and not waited and request.param == "child"
                                     else 0)
        waited.append(True)
        while (found := read(feed, start, limit)) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if found is not None:
            fed.served.append(start)
        return found

    monkeypatch.setattr(EntryFeed, "block", block)
    if request.node.callspec.params["store"] == "sqlite":
        url = f"sqlite:///{sqlite_path}"
    else:
        url = request.getfixturevalue("pg_dsn")
    if request.param == "child-fails":
        url = "postgresql://auditor:s3cret@127.0.0.1:1/nothing-listens-here"

    async def run(store: EventStore, keys: Path) -> LogReport:
        report = await verify_ledger(store, log_store_for(store), load_verifiers(keys),
                                     TEST_ORIGIN, database_url=None if request.param == "here"
                                     else url, worker_from=0)
        assert report.chains.ok, report.chains.problems
        assert report.tree_in_child == (request.param == "child")
        assert request.param == "child" or not fed.served
        if request.param == "child-fails":  # said, without the database URL's secret
            assert report.child_error and "log worker exited 1" in report.child_error
            assert "s3cret" not in report.child_error
        else:
            assert report.child_error is None
        return report.log

    return run


async def test_intact_log_verifies(
    store: EventStore, logged: Sequencer, signer_keys: Path, audit: Audit, fed: Fed,
    request: pytest.FixtureRequest
) -> None:
    fed.wait = True
    report = await audit(store, signer_keys)
    assert report.problems == []
    child = request.node.callspec.params["audit"] == "child"
    assert fed.served[:4] == ([0, 64, 128, 192] if child else [])
    assert (report.size, report.checkpoints) == (300, 3)


async def test_truncated_tail_is_detected(
    store: EventStore, logged: Sequencer, signer_keys: Path, audit: Audit, operator: Operator
) -> None:
    await operator.disable_guards()
    await operator.try_sql("DELETE FROM log_entries WHERE idx >= 290")
    messages = [str(p) for p in (await audit(store, signer_keys)).problems]
    assert any(
        "checkpoint of size 300: the log has only 290 entries (truncated)" in m for m in messages
    )


async def test_reordered_entries_are_detected_at_their_index(
    store: EventStore, logged: Sequencer, signer_keys: Path, audit: Audit, operator: Operator,
    fed: Fed, request: pytest.FixtureRequest
) -> None:
    rows = await log_store_for(store).read_entries(10, 2)
    await operator.disable_guards()
    await operator.set_log_entry(10, rows[1].event_hash)
    await operator.set_log_entry(11, rows[0].event_hash)
    fed.wait = True
    problems = (await audit(store, signer_keys)).problems
    assert (0 in fed.served) == (request.node.callspec.params["audit"] == "child")
    assert problems[0].index == 10
    assert "log index 10: hash does not match the event" in str(problems[0])
    assert any("stored hash" in str(p) and "log index 10" in str(p) for p in problems)


async def test_deleted_and_altered_tiles_are_named(
    store: EventStore, logged: Sequencer, signer_keys: Path, audit: Audit, operator: Operator
) -> None:
    await operator.try_sql("DELETE FROM log_tiles WHERE level = 1")
    tile = bytearray(await log_store_for(store).read_tile(0, 0) or b"")
    tile[100] ^= 0x01
    await operator.set_tile(0, 0, bytes(tile))
    messages = [str(p) for p in (await audit(store, signer_keys)).problems]
    assert "tile/1/000.p/1 is missing" in messages
    assert any(m.startswith("tile 0/0 (width 256) does not match") for m in messages)


async def test_checkpoint_signed_by_an_unknown_key_is_rejected(
    store: EventStore, logged: Sequencer, signer_keys: Path, audit: Audit, operator: Operator
) -> None:
    skey, _ = generate_key(TEST_ORIGIN)
    latest = await log_store_for(store).latest_checkpoint()
    assert latest is not None
    forged = sign_note(
        format_checkpoint(Checkpoint(TEST_ORIGIN, 301, latest.root)), [parse_signer_key(skey)]
    )
    await operator.insert_checkpoint(301, latest.root, forged)
    messages = [str(p) for p in (await audit(store, signer_keys)).problems]
    assert any(
        m.startswith("checkpoint of size 301: signature or format invalid") for m in messages
    )


async def test_fork_signed_with_the_real_key_is_detected(
    store: EventStore, logged: Sequencer, signer_keys: Path, audit: Audit, operator: Operator
) -> None:
    await operator.disable_guards()
    # Re-sign a different history for size 250 with the log's own key, as a rogue operator
    # holding the key could: it is inconsistent with the log (and the other checkpoints).
    forged_root = bytes(32)
    note = sign_note(
        format_checkpoint(Checkpoint(TEST_ORIGIN, 250, forged_root)),
        load_signers(signer_keys, TEST_ORIGIN),
    )
    await operator.insert_checkpoint(250, forged_root, note)
    messages = [str(p) for p in (await audit(store, signer_keys)).problems]
    assert any("checkpoint of size 250: root does not match the log" in m for m in messages)


async def test_event_left_out_of_the_log_is_detected(
    store: EventStore, logged: Sequencer, signer_keys: Path, audit: Audit, operator: Operator
) -> None:
    [position] = await store.append(chain(uuid.uuid4(), 1))
    await operator.try_sql(f"DELETE FROM log_queue WHERE position = {position}")
    messages = [str(p) for p in (await audit(store, signer_keys)).problems]
    assert f"event at position {position} is neither in the log nor queued for it" in messages


async def test_hashes_of_the_wrong_length_are_named_at_their_index(
    store: EventStore, logged: Sequencer, signer_keys: Path, audit: Audit, operator: Operator
) -> None:
    log = log_store_for(store)
    [entry] = await log.read_entries(5, 1)
    last = stored_hash_count(300) - 1
    [value] = await log.read_hashes([last])
    await operator.disable_guards()
    await operator.bypass_length_checks()
    await operator.set_log_entry(5, entry.event_hash[:31])
    await operator.rewrite_hash(last, value + b"\x00")
    report = await audit(store, signer_keys)
    messages = [str(p) for p in report.problems]
    assert messages[0] == "log index 5: stored hash is 31 bytes, not 32"
    assert report.size == 300  # the rest of the log is still audited
    assert f"stored hash {last} is 33 bytes, not 32" in messages
    assert "log index 5: hash does not match the event at position " \
           f"{entry.position}" in messages
    assert not any("neither in the log" in m for m in messages)


async def test_a_running_ledger_verifies_clean(
    store: EventStore, logged: Sequencer, signer_keys: Path, audit: Audit
) -> None:
    """Events appended and sequenced (new entries, hashes, wider tiles, checkpoints) while
    the audit runs are no false alarm: it audits the log as of its latest checkpoint."""
    stop = asyncio.Event()
    written = 0

    async def keep_writing() -> None:
        nonlocal written
        while not stop.is_set():
            await store.append(chain(uuid.uuid4(), 1))
            written += 1
            if written % 3 == 0:
                await logged.step()
            await asyncio.sleep(0)

    writer = asyncio.create_task(keep_writing())
    try:
        for _ in range(3):
            report = await audit(store, signer_keys)
            assert report.problems == []
    finally:
        stop.set()
        await writer
    assert written > 0 and report.size >= 300


async def test_an_event_logged_twice_is_named_at_the_second_index(
    store: EventStore, logged: Sequencer, signer_keys: Path, audit: Audit, operator: Operator
) -> None:
    if not isinstance(operator, PostgresOperator):
        pytest.skip("SQLite cannot drop the column's UNIQUE constraint in place")
    [entry] = await log_store_for(store).read_entries(5, 1)
    await operator.disable_guards()
    await operator.try_sql("ALTER TABLE log_entries DROP CONSTRAINT log_entries_position_key")
    await operator.try_sql("INSERT INTO log_entries (idx, position, event_hash) VALUES "
                           f"(300, {entry.position}, '\\x{entry.event_hash.hex()}')")
    messages = [str(p) for p in (await audit(store, signer_keys)).problems]
    assert f"log index 300: event at position {entry.position} is logged twice" in messages
    assert not any("neither in the log" in m or "hash does not match" in m for m in messages)
