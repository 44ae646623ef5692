"""Failed authentications kept for the deployment-wide limit: one contract, every store."""

from __future__ import annotations

import pytest

from ledger.store.auth_failure_factory import auth_failure_store_for
from ledger.store.auth_failure_port import AuthFailureStore
from ledger.store.port import EventStore

T = 1_800_000_000.0  # a wall-clock time, seconds since the epoch


@pytest.fixture
def failures(store: EventStore) -> AuthFailureStore:
    return auth_failure_store_for(store)


async def test_recent_failures_are_the_newest_within_the_window_per_client(
        failures: AuthFailureStore) -> None:
    for offset in (0.0, 10.0, 20.0, 30.0):
        await failures.add_failure("10.0.0.1", T + offset, T - 60)
    await failures.add_failure("2001:db8::/64", T + 25, T - 60)
    assert await failures.recent_failures("10.0.0.1", T + 5, 10) == [T + 30, T + 20, T + 10]
    assert await failures.recent_failures("10.0.0.1", T - 1, 2) == [T + 30, T + 20]
    assert await failures.recent_failures("2001:db8::/64", T, 10) == [T + 25]
    assert await failures.recent_failures("10.0.0.2", T - 1, 10) == []


async def test_writing_a_failure_deletes_every_client_s_expired_ones(
        store: EventStore, failures: AuthFailureStore) -> None:
    await failures.add_failure("10.0.0.1", T, T - 60)
    await failures.add_failure("10.0.0.2", T + 1, T - 60)
    await failures.add_failure("10.0.0.3", T + 100, T + 40)  # T and T + 1 have expired
    assert await failures.recent_failures("10.0.0.1", 0, 10) == []
    assert await failures.recent_failures("10.0.0.2", 0, 10) == []
    assert await failures.recent_failures("10.0.0.3", 0, 10) == [T + 100]
