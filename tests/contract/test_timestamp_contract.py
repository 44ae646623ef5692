"""Timestamps stored beside their checkpoints, on every store: obtained from a real local TSA
(tests/support/tsa.py), verified, kept as received, append-only."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from ledger.errors import LedgerError
from ledger.store.factory import log_store_for
from ledger.store.log_port import StoredCheckpoint
from ledger.store.port import EventStore
from ledger.store.postgres import PostgresEventStore
from ledger.store.sqlite import SQLiteEventStore
from ledger.store.timestamp_factory import timestamp_store_for
from ledger.store.timestamp_port import StoredTimestamp
from ledger.timestamp.client import TsaClient
from ledger.timestamp.settings import TimestampSettings
from ledger.timestamp.stamper import Stamper
from ledger.timestamp.token import load_roots, verify_response
from ledger.transparency.keys import load_signers
from ledger.transparency.sequencer import Sequencer
from tests.conftest import TEST_ORIGIN, drain
from tests.support.events import chain
from tests.support.tsa import LocalTsa, make_pki, openssl_verifies


@pytest.fixture
async def signed(store: EventStore, signer_keys: Path) -> AsyncIterator[StoredCheckpoint]:
    """The store with three events sequenced and a checkpoint signed over them."""
    sequencer = Sequencer(log_store_for(store), load_signers(signer_keys, TEST_ORIGIN),
                          TEST_ORIGIN, poll_interval=0.01)
    await store.append(chain(uuid.uuid4(), 3))
    await drain(sequencer)
    latest = await log_store_for(store).latest_checkpoint()
    assert latest is not None and latest.size == 3
    yield latest
    await sequencer.store.resign()


async def test_a_verified_token_is_stored_beside_its_checkpoint_as_received(
        store: EventStore, signed: StoredCheckpoint, tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    tsa = await LocalTsa(pki).start()
    timestamps = timestamp_store_for(store)
    try:
        async with aiohttp.ClientSession() as session:
            settings = TimestampSettings(urls=(tsa.url,), ca_file=pki.ca_file)
            stamper = Stamper(settings, TsaClient(lambda: session), timestamps,
                              load_roots(pki.ca_file.read_bytes()))
            outcome = await stamper.stamp(signed, 5)
            again = await stamper.stamp(signed, 5)  # it has one: nothing asked
    finally:
        await tsa.stop()
    assert outcome.failures == [] and len(outcome.stamps) == 1
    assert again.stamps == outcome.stamps and tsa.requests == 1
    [stored] = await timestamps.for_size(signed.size)
    assert stored == outcome.stamps[0]
    assert stored.recorded_at is not None and stored.gen_time.tzinfo is not None
    verified = verify_response(stored.response, signed.note,
                               load_roots(pki.ca_file.read_bytes()))
    assert verified.gen_time == stored.gen_time
    ok, said = openssl_verifies(pki, stored.response, signed.note, tmp_path / "openssl")
    assert ok, said
    assert await timestamps.newest() == stored
    assert await timestamps.for_size(0) == []


async def test_a_token_dated_before_its_checkpoint_or_in_the_future_is_refused(
        store: EventStore, signed: StoredCheckpoint, tmp_path: Path) -> None:
    """A TSA with a wrong clock: its token verifies but its time cannot be right. openssl
    cannot be told another time, so the other side moves: the checkpoint's signing time (as
    the store gives it) is set later, or this process's clock earlier, than the TSA's."""
    pki = make_pki(tmp_path / "pki")
    tsa = await LocalTsa(pki).start()
    timestamps = timestamp_store_for(store)
    hour = dt.timedelta(hours=1)
    later = dataclasses.replace(signed, signed_at=_utc() + hour)
    try:
        async with aiohttp.ClientSession() as session:
            settings = TimestampSettings(urls=(tsa.url,), ca_file=pki.ca_file)
            roots = load_roots(pki.ca_file.read_bytes())
            before = await Stamper(settings, TsaClient(lambda: session), timestamps,
                                   roots).stamp(later, 5)
            future = await Stamper(settings, TsaClient(lambda: session), timestamps, roots,
                                   lambda: _utc() - hour).stamp(signed, 5)
            within = await Stamper(settings, TsaClient(lambda: session), timestamps, roots,
                                   lambda: _utc() - dt.timedelta(minutes=4)).stamp(
                dataclasses.replace(signed, signed_at=_utc() + dt.timedelta(minutes=4)), 5)
    finally:
        await tsa.stop()
    [said] = before.failures
    assert before.stamps == [] and "is before the checkpoint was signed" in said
    assert "the authority's clock is wrong" in said and tsa.url in said
    [said] = future.failures
    assert future.stamps == [] and "is in the future" in said
    assert tsa.requests == 3 and within.failures == [] and len(within.stamps) == 1
    assert [s.tsa_url for s in await timestamps.for_size(signed.size)] == [tsa.url]


async def test_one_token_per_authority_and_checkpoint_and_never_rewritten(
        store: EventStore, signed: StoredCheckpoint) -> None:
    timestamps = timestamp_store_for(store)
    first = StoredTimestamp(signed.size, "http://127.0.0.1:1/", _utc(), b"first")
    assert await timestamps.add(first) is True
    assert await timestamps.add(StoredTimestamp(signed.size, first.tsa_url, _utc(),
                                                b"second")) is False
    assert [s.response for s in await timestamps.for_size(signed.size)] == [b"first"]
    table = "checkpoint_timestamps"
    for statement in (f"UPDATE {table} SET response = x'00'",
                      f"DELETE FROM {table}"):
        with pytest.raises(Exception, match="append-only"):  # either driver's error
            await _execute(store, statement)
    assert [s.response for s in await timestamps.for_size(signed.size)] == [b"first"]


async def test_a_token_needs_its_checkpoint(store: EventStore, signed: StoredCheckpoint) -> None:
    with pytest.raises(LedgerError):
        await timestamp_store_for(store).add(
            StoredTimestamp(signed.size + 1, "http://127.0.0.1:1/", _utc(), b"orphan"))


def _utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _execute(store: EventStore, statement: str) -> None:
    if isinstance(store, SQLiteEventStore):
        async with store.transaction() as db:
            await db.execute(statement)
    elif isinstance(store, PostgresEventStore):
        await store.pool.execute(statement.replace("x'00'", "'\\x00'::bytea"))
