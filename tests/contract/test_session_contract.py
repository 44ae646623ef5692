"""Web console sessions: one contract, every store."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger.errors import NotFoundError
from ledger.principals import Principal, new_token
from ledger.sessions import csrf_token_for, hash_session_secret, new_session_secret
from ledger.store.factory import principal_store_for, session_store_for
from ledger.store.port import EventStore
from ledger.store.principal_port import STORE_ACTOR
from ledger.store.session_port import SessionStore

NOW = dt.datetime(2026, 12, 6, 8, 0, tzinfo=dt.UTC)
IDLE = dt.timedelta(minutes=30)
DAY = dt.timedelta(hours=12)


@pytest.fixture
async def sessions(store: EventStore) -> SessionStore:
    principals = principal_store_for(store)
    await principals.add_principal(Principal("hr.sun", "孙丽", ("hr", "employee")))
    await principals.add_principal(Principal("zhao.min", "赵敏", ("employee",)))
    return session_store_for(store)


async def test_a_session_resolves_to_its_principal_and_role_by_its_hash(
        sessions: SessionStore) -> None:
    secret, stored = new_session_secret()
    assert stored == hash_session_secret(secret) and secret.encode() not in stored
    await sessions.add_session(stored, "hr.sun", "hr", "token", NOW, NOW + DAY)
    found = await sessions.touch_session(stored, NOW + dt.timedelta(minutes=1), IDLE)
    assert found is not None
    assert (found.principal.id, found.principal.roles, found.role, found.method) == (
        "hr.sun", ("hr", "employee"), "hr", "token")
    assert found.created_at == NOW and found.expires_at == NOW + DAY
    assert await sessions.touch_session(hash_session_secret(secret + "x"), NOW, IDLE) is None


async def test_a_session_ends_when_idle_longer_than_the_timeout(sessions: SessionStore) -> None:
    _, stored = new_session_secret()
    await sessions.add_session(stored, "hr.sun", "hr", "token", NOW, NOW + DAY)
    later = NOW + IDLE - dt.timedelta(seconds=1)
    assert await sessions.touch_session(stored, later, IDLE) is not None
    # seen at ``later``: the idle clock starts again from there
    assert await sessions.touch_session(stored, later + IDLE - dt.timedelta(seconds=1),
                                        IDLE) is not None
    assert await sessions.touch_session(stored, later + 3 * IDLE, IDLE) is None


async def test_a_request_rewrites_the_last_seen_time_only_once_it_is_a_minute_old(
        sessions: SessionStore) -> None:
    quiet, busy = new_session_secret()[1], new_session_secret()[1]
    for stored in (quiet, busy):
        await sessions.add_session(stored, "hr.sun", "hr", "token", NOW, NOW + DAY)
    seconds = dt.timedelta(seconds=1)
    assert await sessions.touch_session(quiet, NOW + 30 * seconds, IDLE) is not None  # read
    assert await sessions.touch_session(busy, NOW + 90 * seconds, IDLE) is not None  # write
    assert await sessions.touch_session(quiet, NOW + IDLE + 10 * seconds, IDLE) is None
    assert await sessions.touch_session(busy, NOW + IDLE + 10 * seconds, IDLE) is not None


async def test_a_session_ends_at_its_absolute_expiry_however_busy(
        sessions: SessionStore) -> None:
    _, stored = new_session_secret()
    end = NOW + dt.timedelta(minutes=50)
    await sessions.add_session(stored, "hr.sun", "hr", "link", NOW, end)
    for minutes in (10, 20, 30, 40):
        assert await sessions.touch_session(stored, NOW + dt.timedelta(minutes=minutes),
                                            IDLE) is not None
    assert await sessions.touch_session(stored, end, IDLE) is None


async def test_sign_out_deletes_the_session(sessions: SessionStore) -> None:
    _, stored = new_session_secret()
    await sessions.add_session(stored, "zhao.min", "employee", "token", NOW, NOW + DAY)
    assert await sessions.delete_session(stored) is True
    assert await sessions.delete_session(stored) is False
    assert await sessions.touch_session(stored, NOW, IDLE) is None


async def test_a_deactivated_principal_has_no_live_session(store: EventStore,
                                                           sessions: SessionStore) -> None:
    _, stored = new_session_secret()
    await sessions.add_session(stored, "zhao.min", "employee", "token", NOW, NOW + DAY)
    await principal_store_for(store).deactivate_principal("zhao.min", STORE_ACTOR)
    assert await sessions.touch_session(stored, NOW, IDLE) is None


async def test_a_session_started_with_a_token_ends_with_that_token(
        store: EventStore, sessions: SessionStore) -> None:
    principals = principal_store_for(store)
    by_token, by_link = new_session_secret()[1], new_session_secret()[1]
    _, token_hash = new_token()
    token_id = await principals.add_token(token_hash, "hr.sun", "laptop",
                                          expires_at=NOW + dt.timedelta(hours=1))
    await sessions.add_session(by_token, "hr.sun", "hr", "token", NOW, NOW + DAY, token_hash)
    await sessions.add_session(by_link, "hr.sun", "hr", "link", NOW, NOW + DAY)
    assert await sessions.touch_session(by_token, NOW, IDLE) is not None
    # the token's own expiry ends the session too, before the session's
    assert await sessions.touch_session(by_token, NOW + dt.timedelta(hours=1), DAY) is None
    await principals.revoke_token("hr.sun", token_id, STORE_ACTOR)
    assert await sessions.touch_session(by_token, NOW, IDLE) is None
    assert await sessions.touch_session(by_link, NOW, IDLE) is not None


async def test_the_role_changes_only_to_one_the_principal_holds(sessions: SessionStore) -> None:
    _, stored = new_session_secret()
    await sessions.add_session(stored, "hr.sun", "hr", "token", NOW, NOW + DAY)
    assert await sessions.set_role(stored, "employee") is True
    found = await sessions.touch_session(stored, NOW, IDLE)
    assert found is not None and found.role == "employee"
    await sessions.set_role(stored, "legal")  # not one of hr.sun's roles: no live session
    assert await sessions.touch_session(stored, NOW, IDLE) is None
    assert await sessions.set_role(b"\0" * 32, "hr") is False


async def test_every_session_of_a_principal_ends_together(sessions: SessionStore) -> None:
    first, second, other = (new_session_secret()[1] for _ in range(3))
    for stored, who, role in ((first, "hr.sun", "hr"), (second, "hr.sun", "employee"),
                              (other, "zhao.min", "employee")):
        await sessions.add_session(stored, who, role, "token", NOW, NOW + DAY)
    assert await sessions.delete_sessions_of("hr.sun") == 2
    assert await sessions.touch_session(first, NOW, IDLE) is None
    assert await sessions.touch_session(other, NOW, IDLE) is not None


async def test_a_session_needs_a_known_principal(sessions: SessionStore) -> None:
    with pytest.raises(NotFoundError, match="nobody"):
        await sessions.add_session(new_session_secret()[1], "nobody", "hr", "token", NOW,
                                   NOW + DAY)


async def test_expired_sessions_are_deleted_as_new_ones_start(sessions: SessionStore) -> None:
    _, old = new_session_secret()
    await sessions.add_session(old, "hr.sun", "hr", "token", NOW, NOW + DAY)
    await sessions.add_session(new_session_secret()[1], "hr.sun", "hr", "token",
                               NOW + 2 * DAY, NOW + 3 * DAY)
    assert await sessions.delete_session(old) is False


def test_the_csrf_token_is_per_secret_and_not_the_stored_hash() -> None:
    secret, stored = new_session_secret()
    token = csrf_token_for(secret)
    assert token == csrf_token_for(secret) != csrf_token_for(new_session_secret()[0])
    assert token != stored.hex()
