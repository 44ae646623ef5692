"""The read scope (ledger.store.read_scope): WAL positions as clients carry them, and what a
read that waits for a write asks of the replica."""

from __future__ import annotations

import asyncio

import pytest

from ledger.errors import InvalidInputError
from ledger.settings import Settings
from ledger.store.read_scope import (
    PRIMARY,
    REPLICA,
    ReadScope,
    current_scope,
    format_lsn,
    parse_lsn,
    reading,
    require_current,
)


def test_wal_positions_read_and_print_as_postgresql_writes_them() -> None:
    # pg_lsn is two 32-bit halves in hex: SELECT '16/B374D848'::pg_lsn - '0/0' = 97500059720
    assert parse_lsn("16/B374D848") == 0x16_B374D848 == 97500059720
    assert format_lsn(97500059720) == "16/B374D848"
    assert parse_lsn("0/0") == 0
    assert format_lsn(2**64 - 1) == "FFFFFFFF/FFFFFFFF"
    assert parse_lsn(format_lsn(0x3000148)) == 0x3000148


@pytest.mark.parametrize("token", ["", "0", "0/", "/1", "1/2/3", "G/0", "123456789/0",
                                   "0x1/0", "-1/0", "0/1 ; drop"])
def test_rejects_anything_but_a_wal_position(token: str) -> None:
    with pytest.raises(InvalidInputError, match="a read-after token is a WAL position"):
        parse_lsn(token)


def test_outside_a_scope_reads_belong_to_the_primary_and_require_nothing() -> None:
    assert current_scope() is None
    require_current()  # no scope: nothing to require
    assert current_scope() is None


def test_a_wait_for_a_write_makes_the_scope_decide_again_once() -> None:
    with reading(ReadScope(replica_allowed=True, source=REPLICA)) as scope:
        require_current()
        assert scope.current and scope.source is None  # the next read checks the replica
        scope.source = PRIMARY
        require_current()  # already decided with the primary's position in hand: kept
        assert scope.source == PRIMARY
    assert current_scope() is None


def test_a_command_scope_never_asks_for_the_replica() -> None:
    with reading(ReadScope(replica_allowed=False)) as scope:
        require_current()
        assert not scope.current


async def test_tasks_a_request_starts_share_its_scope() -> None:
    with reading(ReadScope(replica_allowed=True)) as scope:
        async def first_read() -> None:
            current = current_scope()
            assert current is not None
            current.source = REPLICA

        await asyncio.gather(first_read())
        assert scope.source == REPLICA


def test_the_replica_is_read_from_the_environment() -> None:
    url = "postgresql://reader@replica.internal:5432/ledger"
    assert Settings.from_env({"LEDGER_READ_DATABASE_URL": url}).read_database_url == url
    assert Settings.from_env({}).read_database_url is None
