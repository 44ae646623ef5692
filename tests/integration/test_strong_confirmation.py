"""A receiver confirms with an Ed25519 signature by their registered key (both stores)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.aggregates.departure import Departure
from ledger.canonical import encode_canonical
from ledger.errors import ForbiddenError, InvalidInputError, VerificationError
from ledger.principals import Principal
from ledger.service import commands as c
from ledger.service import principal_cases, queries
from ledger.service.context import Actor
from ledger.service.ledger import Ledger
from ledger.store.blob_factory import blob_store_for
from ledger.store.factory import principal_store_for
from ledger.store.port import EventStore
from tests.support.evidence import upload

HR = Actor("hr.sig", "hr")
LEAVER = Actor("wang.sig", "employee")
RECEIVER = Actor("zhao.sig", "employee")
OTHER = Actor("qian.sig", "employee")
CLIENTS = "客户 86 家\n".encode() * 20


@pytest.fixture
async def setup(store: EventStore,
                tmp_path: Path) -> tuple[Ledger, uuid.UUID, Ed25519PrivateKey, str]:
    principals = principal_store_for(store)
    for actor in (RECEIVER, OTHER):
        await principals.add_principal(Principal(actor.id, actor.id, ("employee",)))
    ledger = Ledger(store, keys=principals)
    started = await ledger.execute(c.StartDeparture(
        leaver=c.Leaver(id=LEAVER.id, name="王", department="Sales", position="M",
                        role_family="sales"), manager_id="li", hr_owner_id=HR.id,
        notice_date="2026-11-01", last_working_day="2026-11-30", reason="r"), HR)
    departure_id = started.result["departure_id"]
    await ledger.execute(c.SubmitForApproval(departure_id=departure_id), HR)
    added = await ledger.execute(c.AddItem(departure_id=departure_id, category="clients",
                                           title="客户资料", receiver=RECEIVER.id), HR)
    item_id = uuid.UUID(str(added.result["item_id"]))
    evidence = await upload(ledger, blob_store_for(store, None, tmp_path), LEAVER, item_id,
                            CLIENTS, "clients.xlsx")
    await ledger.execute(c.SubmitItem(item_id=item_id, note="all 86 clients",
                                      evidence=[evidence]), LEAVER)
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key_id = await principal_cases.register_key(principals, RECEIVER, RECEIVER.id,
                                                base64.b64encode(public).decode())
    assert (await ledger.load(Departure, departure_id)).item_ids == [str(item_id)]
    return ledger, item_id, key, key_id


def sign(key: Ed25519PrivateKey, key_id: str, statement: str) -> c.Signature:
    return c.Signature(key_id=key_id, statement=statement,
                       signature=base64.b64encode(key.sign(statement.encode())).decode())


async def test_signed_confirmation_is_recorded_with_its_key(
        setup: tuple[Ledger, uuid.UUID, Ed25519PrivateKey, str]) -> None:
    ledger, item_id, key, key_id = setup
    statement = await queries.statement_to_sign(ledger, RECEIVER, item_id,
                                                dt.datetime.now(dt.UTC))
    assert json.loads(statement)["evidence"] == [hashlib.sha256(CLIENTS).hexdigest()]
    outcome = await ledger.execute(c.ConfirmItem(item_id=item_id,
                                                 signature=sign(key, key_id, statement)),
                                   RECEIVER)
    assert outcome.result["signed"] is True
    entry = (await ledger.entries(item_id))[-1]
    recorded = entry.payload["signature"]
    assert recorded["statement"] == statement  # type: ignore[index]
    assert recorded["key_id"] == key_id  # type: ignore[index]


@pytest.mark.parametrize("tamper", ["signature", "statement", "stale", "wrong_key"])
async def test_bad_signatures_are_refused(
        setup: tuple[Ledger, uuid.UUID, Ed25519PrivateKey, str], tamper: str) -> None:
    ledger, item_id, key, key_id = setup
    now = dt.datetime.now(dt.UTC)
    statement = await queries.statement_to_sign(ledger, RECEIVER, item_id, now)
    signature = sign(key, key_id, statement)
    if tamper == "signature":
        raw = bytearray(base64.b64decode(signature.signature))
        raw[0] ^= 1
        signature = signature.model_copy(update={"signature": base64.b64encode(raw).decode()})
    elif tamper == "statement":
        claimed = json.loads(statement)
        claimed["item_version"] -= 1  # an older version of the item: not what is confirmed
        signature = sign(key, key_id, encode_canonical(claimed).decode())
    elif tamper == "stale":
        old = await queries.statement_to_sign(ledger, RECEIVER, item_id,
                                              now - dt.timedelta(hours=1))
        signature = sign(key, key_id, old)
    else:
        signature = sign(Ed25519PrivateKey.generate(), key_id, statement)
    with pytest.raises(VerificationError):
        await ledger.execute(c.ConfirmItem(item_id=item_id, signature=signature), RECEIVER)


async def test_someone_elses_key_or_an_unknown_key_is_refused(
        setup: tuple[Ledger, uuid.UUID, Ed25519PrivateKey, str]) -> None:
    ledger, item_id, key, _ = setup
    statement = await queries.statement_to_sign(ledger, RECEIVER, item_id,
                                                dt.datetime.now(dt.UTC))
    with pytest.raises(InvalidInputError, match="no registered key"):
        await ledger.execute(c.ConfirmItem(item_id=item_id, signature=sign(
            key, "0000000000000000", statement)), RECEIVER)
    with pytest.raises(ForbiddenError):
        await queries.statement_to_sign(ledger, OTHER, item_id, dt.datetime.now(dt.UTC))
