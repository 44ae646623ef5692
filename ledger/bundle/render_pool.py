"""The report rendered off the event loop: ``report.html`` and ``report.pdf`` take from a tenth
of a second to several seconds of CPU (WeasyPrint is pure Python), which inside the server's
event loop would stall every other request for as long.

A ``ReportRenderer`` runs ``render_report_html`` and ``render_report_pdf`` in worker processes
(``concurrent.futures.ProcessPoolExecutor``), made on first use and shut down with the runtime.
The workers are started with ``spawn``: a fresh interpreter inherits neither the server's
database connections (asyncpg, aiosqlite) nor its event loop, which a ``fork`` of a running
server would copy in a broken state. At most ``workers`` renders run at once; further exports
wait their turn (an ``asyncio.Semaphore``) instead of piling work on the pool.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from ledger.bundle.report import quiet_renderer_logs, render_report_html, render_report_pdf
from ledger.bundle.source import ReportSource
from ledger.errors import ConfigurationError, PushbackError

START_METHOD = "spawn"
DEFAULT_WORKERS = 2
"""Renders at once; each holds one CPU while it runs."""

T = TypeVar("T")


def warm_worker() -> None:
    """Load WeasyPrint (Pango, HarfBuzz and fontconfig through cffi) once per worker rather
    than in the first report it prints, its loggers and fontTools' kept to warnings."""
    quiet_renderer_logs()  # before the import, which logs as it parses its stylesheets
    import weasyprint  # noqa: F401 - the import is the point


class ReportRenderer:
    """Renders reports in a lazily started process pool; ``close`` shuts it down."""

    def __init__(self, workers: int = DEFAULT_WORKERS) -> None:
        if workers < 1:
            raise ConfigurationError(f"report renderer: workers must be at least 1, not {workers}")
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._slots: asyncio.Semaphore | None = None
        self._closed = False

    async def html(self, source: ReportSource, *, strict: bool = True) -> bytes:
        """``render_report_html(source, strict=strict)`` in a worker process."""
        return await self._run(functools.partial(render_report_html, strict=strict), source)

    async def pdf(self, html: bytes, content_manifest: bytes) -> bytes:
        """``render_report_pdf(html, content_manifest)`` in a worker process."""
        return await self._run(render_report_pdf, html, content_manifest)

    async def close(self) -> None:
        """Stop the workers (waiting for a render in progress); later renders are refused."""
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers)
        async with self._slots:
            pool = self._executor()
            try:
                return await asyncio.get_running_loop().run_in_executor(pool, function, *args)
            except BrokenProcessPool as e:
                # A worker died (killed, out of memory): start afresh on the next export.
                if self._pool is pool:
                    self._pool = None
                    pool.shutdown(wait=False, cancel_futures=True)
                raise PushbackError(f"the report renderer failed ({e}); try again",
                                    retry_after=5) from e

    def _executor(self) -> ProcessPoolExecutor:
        if self._closed:
            raise PushbackError("the report renderer is shut down (the process is stopping)")
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context(START_METHOD),
                initializer=warm_worker)
        return self._pool
