"""One-time sign-in links in the principal store: one contract, every store."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from ledger.errors import NotFoundError
from ledger.principals import Principal
from ledger.service.context import Actor
from ledger.sign_in_link import new_link_secret
from ledger.store.factory import principal_store_for
from ledger.store.port import EventStore
from ledger.store.principal_port import PrincipalStore
from tests.integration.operator import Operator
from tests.support.sign_in_links import NOW, issue_link

HR = Actor("hr.sun", "hr")


@pytest.fixture
async def principals(store: EventStore) -> PrincipalStore:
    found = principal_store_for(store)
    for principal_id, roles in (("hr.sun", ("hr",)), ("zhao.min", ("employee",))):
        await found.add_principal(Principal(principal_id, principal_id, roles))
    return found


async def test_a_link_signs_its_principal_in_once_and_records_where_from(
        principals: PrincipalStore) -> None:
    link_hash, link = await issue_link(principals)
    later = NOW + dt.timedelta(minutes=1)
    signed_in = await principals.redeem_sign_in_link(link_hash, later, "192.0.2.7", "Phone/1")
    assert signed_in == Principal("zhao.min", "zhao.min", ("employee",))
    assert await principals.redeem_sign_in_link(link_hash, later, "192.0.2.7", "Phone/1") is None
    [listed] = await principals.list_sign_in_links("zhao.min")
    assert (listed.link_id, listed.issued_by, listed.issued_role, listed.departure_id) == (
        link.link_id, "hr.sun", "hr", "d-1")
    assert (listed.used_at, listed.used_ip, listed.used_user_agent) == (
        later, "192.0.2.7", "Phone/1")
    assert (listed.issued_at, listed.expires_at) == (link.issued_at, link.expires_at)
    assert listed.state_at(later) == "used"
    assert [(e.action, e.subject, e.actor_id) for e in await principals.history("zhao.min")] == [
        ("sign_in_link_issued", link.link_id, "hr.sun"),
        ("sign_in_link_used", link.link_id, "zhao.min")]


async def test_expired_revoked_and_unknown_links_are_refused_and_left_unused(
        principals: PrincipalStore) -> None:
    expired_hash, _ = await issue_link(principals, minutes=5)
    assert await principals.redeem_sign_in_link(
        expired_hash, NOW + dt.timedelta(minutes=5), None, None) is None
    revoked_hash, revoked = await issue_link(principals)
    assert await principals.revoke_sign_in_link("zhao.min", revoked.link_id, HR) is True
    assert await principals.revoke_sign_in_link("zhao.min", revoked.link_id, HR) is False
    assert await principals.redeem_sign_in_link(revoked_hash, NOW, None, None) is None
    assert await principals.redeem_sign_in_link(new_link_secret()[1], NOW, None, None) is None
    states = {link.state_at(NOW + dt.timedelta(minutes=5)) for link in
              await principals.list_sign_in_links("zhao.min")}
    assert states == {"expired", "revoked"}
    assert all(link.used_at is None for link in await principals.list_sign_in_links("zhao.min"))
    with pytest.raises(NotFoundError):
        await principals.revoke_sign_in_link("hr.sun", revoked.link_id, HR)
    assert [e.action for e in await principals.history("zhao.min")].count(
        "sign_in_link_used") == 0


async def test_a_used_link_cannot_be_revoked_and_deactivation_revokes_unused_ones(
        principals: PrincipalStore) -> None:
    used_hash, used = await issue_link(principals)
    assert await principals.redeem_sign_in_link(used_hash, NOW, None, None) is not None
    assert await principals.revoke_sign_in_link("zhao.min", used.link_id, HR) is False
    waiting_hash, _ = await issue_link(principals)
    await principals.deactivate_principal("zhao.min", Actor("op.ma", "operator"))
    assert await principals.redeem_sign_in_link(waiting_hash, NOW, None, None) is None
    states = {link.link_id: link.state_at(NOW)
              for link in await principals.list_sign_in_links("zhao.min")}
    assert states[used.link_id] == "used" and sorted(states.values()) == ["revoked", "used"]


async def test_of_concurrent_redemptions_exactly_one_wins(principals: PrincipalStore) -> None:
    for _ in range(5):
        link_hash, _ = await issue_link(principals)
        won = await asyncio.gather(*(principals.redeem_sign_in_link(
            link_hash, NOW, f"192.0.2.{n}", None) for n in range(8)))
        assert sum(p is not None for p in won) == 1
    history = await principals.history("zhao.min")
    assert [e.action for e in history].count("sign_in_link_used") == 5


async def test_the_database_refuses_to_rewrite_the_record_of_a_link_use(
        principals: PrincipalStore, operator: Operator) -> None:
    link_hash, _ = await issue_link(principals)
    await principals.redeem_sign_in_link(link_hash, NOW, None, None)
    for sql in ("UPDATE principal_history SET actor_id = 'someone.else'",
                "DELETE FROM principal_history"):
        with pytest.raises(Exception, match="append-only"):  # either driver's error
            await operator.try_sql(sql)
    assert len(await principals.history("zhao.min")) == 2


async def test_a_cases_unused_links_are_revoked_together_and_each_recorded(
        principals: PrincipalStore) -> None:
    unused_hash, unused = await issue_link(principals)
    used_hash, used = await issue_link(principals)
    assert await principals.redeem_sign_in_link(used_hash, NOW, None, None) is not None
    _, other = await issue_link(principals, departure="d-2")
    assert await principals.revoke_case_sign_in_links("d-1", HR) == [unused.link_id]
    assert await principals.revoke_case_sign_in_links("d-1", HR) == []
    assert await principals.redeem_sign_in_link(unused_hash, NOW, None, None) is None
    states = {link.link_id: link.state_at(NOW) for link in
              await principals.list_sign_in_links("zhao.min")}
    assert states == {unused.link_id: "revoked", used.link_id: "used", other.link_id: "unused"}
    assert [(e.action, e.subject, e.actor_id, e.actor_role)
            for e in await principals.history("zhao.min")
            if e.action == "sign_in_link_revoked"] == [
        ("sign_in_link_revoked", unused.link_id, "hr.sun", "hr")]
