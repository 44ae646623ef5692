"""The report of an export is rendered in worker processes (ledger.bundle.render_pool), so a
large export does not stall the server: other requests are answered while it prints.

The PDF parts need the CJK font of fonts-noto-cjk (as tests/integration/test_report.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from ledger.bundle.render_pool import ReportRenderer
from ledger.bundle.report import CJK_FAMILIES, installed_cjk_families, render_report_html
from ledger.errors import PushbackError
from tests.integration.http_fixtures import serve
from tests.support.report_case import make_large_case


def _require_font() -> None:
    if not set(CJK_FAMILIES) <= installed_cjk_families():
        pytest.skip("the report's PDF needs fonts-noto-cjk")


async def test_the_server_answers_while_an_export_prints_its_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _require_font()
    async with serve(f"sqlite:///{tmp_path}/l.db", tmp_path) as api:
        source = await make_large_case(api, items=20)
        await api.sequence()
        renderer = api.runtime.exporter.renderer
        printing, printed = asyncio.Event(), asyncio.Event()
        pdf = renderer.pdf

        async def observed(html: bytes, manifest: bytes) -> bytes:
            printing.set()
            try:
                return await pdf(html, manifest)
            finally:
                printed.set()

        monkeypatch.setattr(renderer, "pdf", observed)
        export = asyncio.create_task(
            api.get(f"/v1/departures/{source.departure_id}/bundle", "hr.sun"))
        await asyncio.wait([export, asyncio.create_task(printing.wait())],
                           return_when=asyncio.FIRST_COMPLETED)
        assert printing.is_set(), "the export printed its PDF without the renderer"
        health = await api.get("/healthz")
        board = await api.get("/v1/boards/hr", "hr.sun")
        # Rendered on the event loop, the PDF would be done before either could be answered.
        assert not printed.is_set() and not export.done()
        assert health.status == 200 and board.status == 200, board.body[:300]
        reply = await export
        assert reply.status == 200, reply.body[:300]


async def test_a_worker_renders_the_same_html_bytes_and_a_closed_renderer_refuses(
        tmp_path: Path) -> None:
    async with serve(f"sqlite:///{tmp_path}/l.db", tmp_path) as api:
        source = await make_large_case(api, items=2)
    renderer = ReportRenderer(workers=1)
    try:
        other = dataclasses.replace(source, time_zone="Europe/Berlin")
        # Two at once on one worker: the second waits for its turn, both complete.
        html, html_berlin = await asyncio.gather(renderer.html(source), renderer.html(other))
        assert html == render_report_html(source)  # what ledger verify-bundle renders again
        assert html_berlin == render_report_html(other) != html
    finally:
        await renderer.close()
    with pytest.raises(PushbackError, match="shut down"):
        await renderer.html(source)
