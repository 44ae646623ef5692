"""The console's tests: one real site (API and console) per test on SQLite, served on
127.0.0.1 with the cast; a console client; the browser (tests/support/browser.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.http_fixtures import Api, serve
from tests.support.browser import browser  # noqa: F401 - the fixture, for this folder
from tests.support.console import Console, console_session


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Api]:
    """The whole site on a fresh SQLite database."""
    async with serve(f"sqlite:///{tmp_path}/l.db", tmp_path) as served:
        yield served


@pytest.fixture
async def console(site: Api) -> AsyncIterator[Console]:
    """A console client of ``site`` (not signed in)."""
    async with console_session() as session:
        yield Console(site, session)
