"""Tampering by someone with database access is refused by the database, and when the guards
are disabled, ``verify_chains`` names the exact stream, version and event, at both depths
(integrity, the default, and strict)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from ledger import verify as verify_module
from ledger.demo_scenarios import play_all
from ledger.entry import decode_entry, encode_entry
from ledger.errors import VerificationError
from ledger.service import commands as c
from ledger.service.context import Actor
from ledger.service.ledger import Ledger
from ledger.store.blob_factory import blob_store_for
from ledger.store.port import AuditRow, EventStore, NewEvent
from ledger.verify import ChainReport, verify_chains
from tests.integration.operator import Operator, PostgresOperator
from tests.integration.scenarios import item_with_comments

HR = Actor("hr.t", "hr")


@pytest.fixture(params=["integrity", "strict"])
def verify(request: pytest.FixtureRequest) -> Callable[[EventStore], Awaitable[ChainReport]]:
    """``verify_chains`` at one depth: every tamper case is reported the same at both."""
    return partial(verify_chains, strict=request.param == "strict")


Verify = Callable[[EventStore], Awaitable[ChainReport]]


async def test_database_refuses_update_and_delete(ledger: Ledger, operator: Operator) -> None:
    await item_with_comments(ledger, HR, 1)
    for sql in ("UPDATE events SET version = version", "DELETE FROM events"):
        with pytest.raises((Exception,), match="append-only"):
            await operator.try_sql(sql)


async def test_postgres_refuses_truncate(postgres_store: EventStore, pg_dsn: str) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await PostgresOperator(pg_dsn).try_sql("TRUNCATE events CASCADE")


async def test_clean_ledger_verifies(ledger: Ledger, store: EventStore, verify: Verify) -> None:
    await item_with_comments(ledger, HR, 3)
    report = await verify(store)
    assert report.ok, report.problems
    assert report.events == await store.count_events()


async def test_flipped_byte_is_reported_at_its_event(ledger: Ledger, store: EventStore,
                                                     operator: Operator, verify: Verify) -> None:
    item, _ = await item_with_comments(ledger, HR, 3)
    victim = (await store.read_stream(item))[2]
    tampered = bytearray(victim.entry)
    tampered[tampered.index(b"comment") + 2] ^= 0x01
    await operator.disable_guards()
    await operator.set_row(victim.position, bytes(tampered), victim.event_hash)
    report = await verify(store)
    assert len(report.problems) == 1
    problem = report.problems[0]
    assert (problem.stream_id, problem.version, problem.event_id) == (
        str(item), 3, str(victim.event_id))
    assert "hash to" in str(problem)


async def test_deleted_middle_event_is_reported_as_missing_version(
        ledger: Ledger, store: EventStore, operator: Operator, verify: Verify) -> None:
    item, _ = await item_with_comments(ledger, HR, 3)
    rows = await store.read_stream(item)
    await operator.disable_guards()
    await operator.delete_row(rows[1].position)
    report = await verify(store)
    assert [(p.stream_id, p.version) for p in report.problems] == [(str(item), 3)]
    assert "version 2 is missing" in str(report.problems[0])


async def test_swapped_versions_are_reported(ledger: Ledger, store: EventStore,
                                             operator: Operator, verify: Verify) -> None:
    item, _ = await item_with_comments(ledger, HR, 3)
    second, third = (await store.read_stream(item))[1:3]
    await operator.disable_guards()
    await operator.set_row(second.position, third.entry, third.event_hash)
    await operator.set_row(third.position, second.entry, second.event_hash)
    report = await verify(store)
    assert report.problems and report.problems[0].version == 2
    assert report.problems[0].event_id == str(second.event_id)
    assert "disagrees with its row" in str(report.problems[0])


async def test_rewritten_prev_with_recomputed_hash_is_reported(
        ledger: Ledger, store: EventStore, operator: Operator, verify: Verify) -> None:
    item, _ = await item_with_comments(ledger, HR, 3)
    victim = (await store.read_stream(item))[2]
    entry = decode_entry(victim.entry)
    doc = json.loads(victim.entry)
    forged, forged_hash = encode_entry(
        event_id=entry.event_id, stream_type=entry.stream_type, stream_id=entry.stream_id,
        version=entry.version, event_type=entry.event_type, recorded_at=entry.recorded_at,
        actor=doc["actor"], context=doc["context"], payload=doc["payload"],
        prev=bytes(32))
    await operator.disable_guards()
    await operator.set_row(victim.position, forged, forged_hash)
    report = await verify(store)
    assert [(p.stream_id, p.version) for p in report.problems] == [(str(item), 3)]
    assert "prev" in str(report.problems[0])


async def test_loading_a_tampered_stream_refuses_to_act(ledger: Ledger, store: EventStore,
                                                        operator: Operator) -> None:
    item, _ = await item_with_comments(ledger, HR, 2)
    victim = (await store.read_stream(item))[1]
    await operator.disable_guards()
    await operator.delete_row(victim.position)
    fresh_process = Ledger(store)  # its cache is empty, so it reads and verifies the stream
    with pytest.raises(VerificationError, match="version 2 is missing"):
        await fresh_process.execute(c.CommentItem(item_id=item, text="after tamper"), HR)


async def test_rewritten_columns_are_reported(ledger: Ledger, store: EventStore,
                                              operator: Operator, verify: Verify) -> None:
    item, _ = await item_with_comments(ledger, HR, 3)
    second, third = (await store.read_stream(item))[1:3]
    await operator.disable_guards()
    await operator.try_sql(f"UPDATE events SET event_type = 'ItemConfirmed' "
                           f"WHERE position = {second.position}")
    await operator.try_sql(f"UPDATE events SET event_id = '{uuid.uuid4()}' "
                           f"WHERE position = {third.position}")
    report = await verify(store)
    assert [(p.stream_id, p.version) for p in report.problems] == [(str(item), 2),
                                                                   (str(item), 3)]
    assert "entry disagrees with its row on event type" in str(report.problems[0])
    assert "entry disagrees with its row on event id" in str(report.problems[1])


async def test_only_strict_proves_the_canonical_form(ledger: Ledger, store: EventStore,
                                                     operator: Operator) -> None:
    """A well-chained entry that is not RFC 8785 canonical (as a buggy writer could store):
    integrity holds, so only ``--strict`` reports it."""
    item, _ = await item_with_comments(ledger, HR, 2)
    last = (await store.read_stream(item))[-1]
    spaced = last.entry.replace(b'"context":{', b'"context": {', 1)
    assert spaced != last.entry
    await operator.disable_guards()
    await operator.set_row(last.position, spaced, hashlib.sha256(spaced).digest())
    assert (await verify_chains(store)).ok
    report = await verify_chains(store, strict=True)
    assert [(p.stream_id, p.version) for p in report.problems] == [(str(item), 3)]
    assert "not in RFC 8785 canonical form" in str(report.problems[0])


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
async def test_a_fork_under_another_spelling_of_the_stream_id_is_reported(
        ledger: Ledger, store: EventStore, operator: Operator, verify: Verify) -> None:
    """SQLite keeps ids as text: a second chain inserted for an existing stream, its id
    columns in upper case, is not a different stream (PostgreSQL's uuid type has one
    spelling, so this is SQLite's case only)."""
    item, _ = await item_with_comments(ledger, HR, 3)
    await operator.try_sql(
        "INSERT INTO events (event_id, stream_type, stream_id, version, event_type, "
        "recorded_at, entry, event_hash) SELECT upper(event_id), stream_type, upper(stream_id), "
        "version, event_type, recorded_at, entry, event_hash FROM events "
        f"WHERE stream_id = '{item}' AND version <= 2")
    await operator.try_sql("INSERT INTO log_queue (position) SELECT position FROM events "
                           f"WHERE stream_id = '{str(item).upper()}'")
    report = await verify(store)
    assert [p.version for p in report.problems] == [1, 2]
    assert all("is not a lowercase, hyphenated UUID" in str(p) for p in report.problems)


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
async def test_an_event_id_column_spanning_json_structure_is_reported(
        ledger: Ledger, store: EventStore, operator: Operator, verify: Verify) -> None:
    """A column holding quotes must not match the entry across its JSON structure (SQLite's
    case: PostgreSQL's uuid columns cannot hold quotes)."""
    item, _ = await item_with_comments(ledger, HR, 1)
    victim = (await store.read_stream(item))[1]
    text = victim.entry.decode()
    span = text[text.index('"id":"') + 6:text.index('","payload":{')]
    assert '"' in span
    await operator.disable_guards()
    await operator.try_sql(f"UPDATE events SET event_id = '{span}' "
                           f"WHERE position = {victim.position}")
    report = await verify(store)
    assert [(p.stream_id, p.version) for p in report.problems] == [(str(item), 2)]
    assert "is not a lowercase, hyphenated UUID" in str(report.problems[0])


async def test_an_id_nested_in_the_payload_does_not_vouch_for_the_event_id_column(
        store: EventStore, operator: Operator, verify: Verify) -> None:
    """Only the top-level id counts: a payload may nest `},"id":"<x>","payload":{`."""
    stream, event_id, nested = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    recorded_at = dt.datetime.now(dt.UTC)
    entry, event_hash = encode_entry(
        event_id=event_id, stream_type="item", stream_id=stream, version=1,
        event_type="ItemAdded", recorded_at=recorded_at, actor={"id": HR.id, "role": "hr"},
        context={}, payload={"note": {"a": {}, "id": str(nested), "payload": {}}}, prev=None)
    [position] = await store.append([NewEvent(event_id, "item", stream, 1, "ItemAdded",
                                              recorded_at, entry, event_hash)])
    await operator.disable_guards()
    await operator.try_sql(f"UPDATE events SET event_id = '{nested}' WHERE position = {position}")
    report = await verify(store)
    assert [(p.stream_id, p.event_id) for p in report.problems] == [(str(stream), str(nested))]
    assert "entry disagrees with its row on event id" in str(report.problems[0])


async def test_the_integrity_depth_accepts_every_real_entry_without_the_strict_check(
        ledger: Ledger, store: EventStore, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    """The fast path is what makes verify fast: every entry the seed scenarios write (every
    event type the product has) passes it, so none needs the full decode."""
    await play_all(ledger, dt.date(2026, 11, 24), blob_store_for(store, None, tmp_path))
    slow: list[str] = []
    check_row = verify_module._check_row

    def counting(row: AuditRow, *args: Any) -> None:
        slow.append(row[5])
        check_row(row, *args)

    monkeypatch.setattr(verify_module, "_check_row", counting)
    report = await verify_chains(store)
    assert report.ok and report.events > 150
    assert slow == []
