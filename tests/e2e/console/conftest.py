"""The console's tests: one real site (API and console) per test, served on 127.0.0.1 with
the cast; a console client; the browser (tests/support/browser.py). The site is on SQLite;
a test marked ``on_both_stores`` (tests/support/console.py) runs on PostgreSQL as well."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.http_fixtures import Api, serve
from tests.support.browser import browser  # noqa: F401 - the fixture, for this folder
from tests.support.console import Console, console_session


@pytest.fixture
def site_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database: SQLite, or the store a test's ``on_both_stores`` names (a
    PostgreSQL database of its own)."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return f"sqlite:///{tmp_path}/l.db"
    dsn: str = request.getfixturevalue("pg_dsn")
    return dsn


@pytest.fixture
async def site(site_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The whole site on ``site_url``."""
    async with serve(site_url, tmp_path) as served:
        yield served


@pytest.fixture
async def console(site: Api) -> AsyncIterator[Console]:
    """A console client of ``site`` (not signed in)."""
    async with console_session() as session:
        yield Console(site, session)
