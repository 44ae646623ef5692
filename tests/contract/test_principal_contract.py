"""Principals, tokens and keys: one contract, every store."""

from __future__ import annotations

import pytest

from ledger.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from ledger.principals import Principal, check_roles, hash_token, new_token
from ledger.store.factory import principal_store_for
from ledger.store.port import EventStore


async def test_tokens_resolve_to_their_principal_until_revoked(store: EventStore) -> None:
    principals = principal_store_for(store)
    await principals.add_principal(Principal("hr.sun", "孙丽", ("hr", "employee")))
    token, token_hash = new_token()
    await principals.add_token(token_hash, "hr.sun", "laptop")
    assert token.startswith("hl_")
    assert await principals.principal_for_token(hash_token(token)) == Principal(
        "hr.sun", "孙丽", ("hr", "employee"))
    assert await principals.principal_for_token(hash_token(token + "x")) is None
    assert await principals.revoke_tokens("hr.sun") == 1
    assert await principals.principal_for_token(token_hash) is None


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
