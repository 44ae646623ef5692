"""Fixtures most HTTP test modules share: one real server per test, on each store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.http_fixtures import Api, serve


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database on each store: a SQLite file, or a PostgreSQL database of its own."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/l.db"
    dsn: str = request.getfixturevalue("pg_dsn")
    return dsn


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The service on ``database_url``, served on 127.0.0.1 with the cast of principals."""
    async with serve(database_url, tmp_path) as served:
        yield served
