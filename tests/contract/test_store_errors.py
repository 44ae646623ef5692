"""Refused writes read the same on every store and name no table, column or constraint."""

from __future__ import annotations

import uuid

import pytest

from ledger.errors import ConflictError, LedgerError, NotFoundError
from ledger.principals import Principal
from ledger.store import integrity
from ledger.store.factory import principal_store_for
from ledger.store.port import EventStore, IdempotencyRecord, KeyTakenError
from tests.support.events import chain

SCHEMA_WORDS = ("pkey", "constraint", "unique", "foreign", "principals", "principal_keys",
                "events", "idempotency", "stream_id", "sqlite", "postgres", "_")


def refusal(error: LedgerError) -> str:
    text = str(error)
    lowered = text.lower()
    for word in SCHEMA_WORDS:
        assert word not in lowered, (word, text)
    return text


async def test_a_taken_stream_version_reads_the_same_everywhere(store: EventStore) -> None:
    stream = uuid.uuid4()
    events = chain(stream, 2)
    await store.append(events[:1])
    with pytest.raises(ConflictError) as info:
        await store.append([chain(stream, 1)[0]])
    assert refusal(info.value) == "another write reached this stream version first"


async def test_a_reused_principal_id_or_key_reads_the_same_everywhere(
        store: EventStore) -> None:
    principals = principal_store_for(store)
    await principals.add_principal(Principal("a", "A", ("hr",)))
    with pytest.raises(ConflictError) as info:
        await principals.add_principal(Principal("a", "A again", ("hr",)))
    assert refusal(info.value) == (
        "a principal with this id already exists (ids are never reused)")
    await principals.add_key("k1", "a", bytes(32))
    with pytest.raises(ConflictError) as info:
        await principals.add_key("k1", "a", bytes(32))
    assert refusal(info.value) == "this public key is already registered for this principal"


async def test_a_missing_reference_reads_the_same_everywhere(store: EventStore) -> None:
    with pytest.raises(NotFoundError) as info:
        await principal_store_for(store).add_token(b"\x01" * 32, "nobody", "x")
    assert refusal(info.value) == integrity.MISSING


async def test_a_taken_idempotency_key_is_still_told_apart(store: EventStore) -> None:
    record = IdempotencyRecord("a\x1fkey", b"\x00" * 32, b"{}")
    await store.append([], record)
    with pytest.raises(KeyTakenError) as info:
        await store.append([], record)
    assert str(info.value) == "idempotency key already used"
