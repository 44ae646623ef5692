"""Principals, tokens, keys and their history: one contract, every store."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from ledger.principals import (
    TOKEN_ID_PATTERN,
    Principal,
    check_roles,
    hash_token,
    new_token,
)
from ledger.service.context import Actor
from ledger.store.factory import principal_store_for
from ledger.store.port import EventStore
from ledger.store.principal_port import PrincipalStore
from tests.integration.operator import Operator

OPERATOR = Actor("op.ma", "operator")
NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
async def principals(store: EventStore) -> PrincipalStore:
    found = principal_store_for(store)
    for principal_id, roles in (("hr.sun", ("hr", "employee")), ("zhao.min", ("employee",)),
                                ("op.ma", ("operator",))):
        await found.add_principal(Principal(principal_id, principal_id, roles))
    return found


async def test_tokens_resolve_to_their_principal_until_revoked(store: EventStore) -> None:
    principals = principal_store_for(store)
    await principals.add_principal(Principal("hr.sun", "孙丽", ("hr", "employee")))
    token, token_hash = new_token()
    await principals.add_token(token_hash, "hr.sun", "laptop")
    assert token.startswith("hl_")
    assert await principals.principal_for_token(hash_token(token)) == Principal(
        "hr.sun", "孙丽", ("hr", "employee"), active=True)
    assert await principals.principal_for_token(hash_token(token + "x")) is None
    assert await principals.revoke_tokens("hr.sun") == 1
    assert await principals.principal_for_token(token_hash) is None


async def test_a_token_stops_at_its_expiry(principals: PrincipalStore) -> None:
    _, token_hash = new_token()
    expires = NOW + dt.timedelta(hours=1)
    await principals.add_token(token_hash, "hr.sun", "short", expires_at=expires)
    assert await principals.principal_for_token(token_hash, now=NOW) is not None
    assert await principals.principal_for_token(
        token_hash, now=expires - dt.timedelta(microseconds=1)) is not None
    assert await principals.principal_for_token(token_hash, now=expires) is None
    _, stale_hash = new_token()
    await principals.add_token(stale_hash, "hr.sun", "old", expires_at=NOW - dt.timedelta(1))
    assert await principals.principal_for_token(stale_hash) is None


async def test_tokens_expire_after_ninety_days_unless_told_otherwise(
        principals: PrincipalStore) -> None:
    _, token_hash = new_token()
    await principals.add_token(token_hash, "hr.sun", "default")
    [listed] = await principals.list_tokens("hr.sun")
    assert abs(listed.expires_at - (NOW + dt.timedelta(days=90))) < dt.timedelta(minutes=5)
    assert await principals.principal_for_token(
        token_hash, now=NOW + dt.timedelta(days=91)) is None


async def test_tokens_are_listed_by_id_without_secrets_and_revoked_one_by_one(
        principals: PrincipalStore) -> None:
    hashes = [new_token()[1] for _ in range(2)]
    ids = [await principals.add_token(h, "hr.sun", f"device {n}", by=OPERATOR)
           for n, h in enumerate(hashes)]
    assert all(TOKEN_ID_PATTERN.fullmatch(i) for i in ids) and ids[0] != ids[1]
    listed = await principals.list_tokens("hr.sun")
    assert [(t.token_id, t.label, t.revoked) for t in listed] == [
        (ids[0], "device 0", False), (ids[1], "device 1", False)]
    assert all(h.hex() not in repr(listed) and h.hex()[:16] not in ids for h in hashes)
    assert await principals.revoke_token("hr.sun", ids[0], OPERATOR) is True
    assert await principals.revoke_token("hr.sun", ids[0], OPERATOR) is False
    assert await principals.principal_for_token(hashes[0]) is None
    assert await principals.principal_for_token(hashes[1]) is not None
    assert [t.revoked for t in await principals.list_tokens("hr.sun")] == [True, False]


async def test_a_token_is_revoked_only_through_its_own_principal(
        principals: PrincipalStore) -> None:
    _, token_hash = new_token()
    token_id = await principals.add_token(token_hash, "hr.sun", "x")
    with pytest.raises(NotFoundError):
        await principals.revoke_token("zhao.min", token_id, OPERATOR)
    with pytest.raises(NotFoundError):
        await principals.revoke_token("hr.sun", "0123456789abcdef", OPERATOR)
    assert await principals.principal_for_token(token_hash) is not None


async def test_a_deactivated_principal_can_no_longer_authenticate(
        principals: PrincipalStore) -> None:
    hashes = [new_token()[1] for _ in range(3)]
    for h in hashes:
        await principals.add_token(h, "zhao.min", "x")
    assert await principals.deactivate_principal("zhao.min", OPERATOR) == 3
    assert all([await principals.principal_for_token(h) is None for h in hashes])
    assert (await principals.get_principal("zhao.min")).active is False
    assert {p.id: p.active for p in await principals.list_principals()} == {
        "hr.sun": True, "op.ma": True, "zhao.min": False}
    assert all(t.revoked for t in await principals.list_tokens("zhao.min"))
    assert await principals.deactivate_principal("zhao.min", OPERATOR) == 0
    # A token added later (straight into the store) still does not authenticate them.
    late = new_token()[1]
    await principals.add_token(late, "zhao.min", "late")
    assert await principals.principal_for_token(late) is None
    with pytest.raises(NotFoundError):
        await principals.deactivate_principal("nobody", OPERATOR)


async def test_inactive_among_names_the_unknown_and_the_deactivated_in_one_look_up(
        principals: PrincipalStore) -> None:
    await principals.deactivate_principal("zhao.min", OPERATOR)
    assert await principals.inactive_among(["hr.sun", "zhao.min", "nobody", "hr.sun"]) == {
        "zhao.min", "nobody"}
    assert await principals.inactive_among(["hr.sun", "op.ma"]) == set()
    assert await principals.inactive_among([]) == set()
    # More ids than one SQLite IN list takes.
    many = [f"ghost.{n}" for n in range(1200)]
    assert await principals.inactive_among([*many, "hr.sun"]) == set(many)


async def test_names_of_reads_the_names_of_many_principals_in_one_look_up(
        principals: PrincipalStore) -> None:
    await principals.add_principal(Principal("wang.lei", "王磊 <b>", ("employee",)))
    await principals.deactivate_principal("wang.lei", OPERATOR)  # still named
    assert await principals.names_of(["wang.lei", "hr.sun", "nobody", "dept:it",
                                      "wang.lei"]) == {"wang.lei": "王磊 <b>",
                                                       "hr.sun": "hr.sun"}
    assert await principals.names_of([]) == {}
    many = [f"ghost.{n}" for n in range(1200)]  # more than one SQLite IN list takes
    assert await principals.names_of([*many, "wang.lei"]) == {"wang.lei": "王磊 <b>"}


async def test_duplicate_principal_is_a_conflict(store: EventStore) -> None:
    principals = principal_store_for(store)
    await principals.add_principal(Principal("a", "A", ("hr",)))
    with pytest.raises(ConflictError):
        await principals.add_principal(Principal("a", "A again", ("hr",)))
    assert [p.id for p in await principals.list_principals()] == ["a"]


async def test_token_for_unknown_principal_is_refused(store: EventStore) -> None:
    with pytest.raises(NotFoundError):
        await principal_store_for(store).add_token(b"\x00" * 32, "nobody", "x")
    with pytest.raises(NotFoundError):
        await principal_store_for(store).get_principal("nobody")


async def test_keys_are_registered_once(store: EventStore) -> None:
    principals = principal_store_for(store)
    await principals.add_principal(Principal("zhao.min", "赵敏", ("employee",)))
    await principals.add_key("k1", "zhao.min", b"\x01" * 32)
    assert await principals.find_key("k1") == ("zhao.min", b"\x01" * 32)
    with pytest.raises(ConflictError):
        await principals.add_key("k1", "zhao.min", b"\x02" * 32)
    assert await principals.find_key("k2") is None


async def test_a_revoked_key_is_no_longer_found_nor_registered_again(
        principals: PrincipalStore) -> None:
    await principals.add_key("k1", "zhao.min", b"\x01" * 32, by=Actor("zhao.min", "employee"))
    with pytest.raises(NotFoundError):
        await principals.revoke_key("hr.sun", "k1", OPERATOR)
    assert await principals.revoke_key("zhao.min", "k1", OPERATOR) is True
    assert await principals.revoke_key("zhao.min", "k1", OPERATOR) is False
    assert await principals.find_key("k1") is None
    [key] = await principals.list_keys("zhao.min")
    assert (key.key_id, key.public_key, key.revoked) == ("k1", b"\x01" * 32, True)
    with pytest.raises(ConflictError):
        await principals.add_key("k1", "zhao.min", b"\x01" * 32)


async def test_every_act_on_access_is_recorded_with_who_did_it(
        principals: PrincipalStore) -> None:
    owner = Actor("zhao.min", "employee")
    token_id = await principals.add_token(new_token()[1], "zhao.min", "x", by=OPERATOR)
    await principals.add_key("k1", "zhao.min", b"\x01" * 32, by=owner)
    await principals.revoke_key("zhao.min", "k1", owner)
    await principals.revoke_token("zhao.min", token_id, OPERATOR)
    await principals.revoke_token("zhao.min", token_id, OPERATOR)  # nothing new: not recorded
    await principals.deactivate_principal("zhao.min", OPERATOR)
    history = await principals.history("zhao.min")
    assert [(e.action, e.subject, e.actor_id, e.actor_role) for e in history] == [
        ("token_issued", token_id, "op.ma", "operator"),
        ("key_registered", "k1", "zhao.min", "employee"),
        ("key_revoked", "k1", "zhao.min", "employee"),
        ("token_revoked", token_id, "op.ma", "operator"),
        ("principal_deactivated", None, "op.ma", "operator")]
    assert [e.seq for e in history] == sorted(e.seq for e in history)
    assert all(abs(e.at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5) for e in history)
    assert await principals.history("hr.sun") == []


async def test_the_database_refuses_to_rewrite_the_principal_history(
        principals: PrincipalStore, operator: Operator) -> None:
    await principals.deactivate_principal("zhao.min", OPERATOR)
    for sql in ("UPDATE principal_history SET actor_id = 'someone.else'",
                "DELETE FROM principal_history"):
        with pytest.raises(Exception, match="append-only"):  # either driver's error
            await operator.try_sql(sql)
    assert [e.actor_id for e in await principals.history("zhao.min")] == ["op.ma"]


def test_principals_act_only_in_their_own_roles() -> None:
    principal = Principal("li", "李", ("employee", "it"))
    assert principal.act_as(None).role == "employee"
    assert principal.act_as("it").role == "it"
    with pytest.raises(ForbiddenError):
        principal.act_as("hr")
    with pytest.raises(InvalidInputError):
        check_roles(["wizard"])
    with pytest.raises(InvalidInputError):
        check_roles([])
