"""The PostgreSQL adapter's one mapping of driver errors: a database that is away (refusing
connections, shutting down, a session it ended mid-statement, one that does not answer in
time) is a PushbackError, the 503 +
Retry-After a client retries; what is not understood stays a plain LedgerError (a 500 with an
error id)."""

from __future__ import annotations

import asyncpg
import pytest

from ledger.errors import ConflictError, LedgerError, PushbackError
from ledger.store.postgres import PG_ERRORS, map_postgres_error

AWAY = {
    "connection refused": ConnectionRefusedError(111, "Connect call failed"),
    "shutting down": asyncpg.CannotConnectNowError("the database system is shutting down"),
    "administrator command": asyncpg.AdminShutdownError(
        "terminating connection due to administrator command"),
    "connection closed": asyncpg.ConnectionDoesNotExistError(
        "connection was closed in the middle of operation"),
    # asyncpg's own state error on a connection the server ended under it (a restart)
    "protocol state": asyncpg.InternalClientError(
        "cannot switch to state 12; another operation (2) is in progress"),
    # a hung database: no answer within LEDGER_DB_*_TIMEOUT_SECONDS (asyncpg's command and
    # acquire timeouts, a connect that never completes), or the server's statement_timeout
    "no answer in time": TimeoutError(),
    "statement timeout": asyncpg.QueryCanceledError(
        "canceling statement due to statement timeout"),
}


@pytest.mark.parametrize("name", list(AWAY))
def test_a_database_that_is_away_is_a_pushback(name: str) -> None:
    error = AWAY[name]
    assert isinstance(error, PG_ERRORS)  # the adapters catch it
    mapped = map_postgres_error(error)
    assert isinstance(mapped, PushbackError) and mapped.retry_after == 1


def test_a_unique_violation_is_a_conflict_not_a_pushback() -> None:
    mapped = map_postgres_error(asyncpg.UniqueViolationError("duplicate key"))
    assert isinstance(mapped, ConflictError) and not isinstance(mapped, PushbackError)


def test_an_error_not_understood_stays_a_plain_ledger_error() -> None:
    mapped = map_postgres_error(asyncpg.DivisionByZeroError("division by zero"))
    assert type(mapped) is LedgerError
    assert "DivisionByZeroError" in str(mapped)
