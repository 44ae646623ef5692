"""The report's renderers (``ledger.bundle.report``), found at run time.

The report module is written on another branch, to the interface below. Until it is merged
here, a clearly labelled placeholder stands in, so that the exporter's path runs end to end;
once ``ledger/bundle/report.py`` exists, it is used and the placeholder never is.
"""

from __future__ import annotations

import html
import importlib
from collections.abc import Callable
from typing import cast

from ledger.bundle.layout import REPORT_SOURCE_META
from ledger.bundle.source import ReportSource

HtmlRenderer = Callable[[ReportSource], bytes]
PdfRenderer = Callable[[bytes, bytes], bytes]
REPORT_MODULE = "ledger.bundle.report"


def report_renderers() -> tuple[HtmlRenderer, PdfRenderer]:
    """``render_report_html(source)`` and ``render_report_pdf(html, content_manifest)``."""
    try:
        module = importlib.import_module(REPORT_MODULE)
    except ModuleNotFoundError as e:
        if e.name != REPORT_MODULE:
            raise
        return placeholder_html, placeholder_pdf
    return (cast(HtmlRenderer, module.render_report_html),
            cast(PdfRenderer, module.render_report_pdf))


def placeholder_html(source: ReportSource) -> bytes:
    """PLACEHOLDER report: names the case and carries the report source digest, no more."""
    digest = html.escape(source.report_source_sha256)
    return (
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"{REPORT_SOURCE_META}\" content=\"{digest}\">"
        "<title>PLACEHOLDER report</title></head><body>"
        "<p>PLACEHOLDER: 报告模块尚未合并 / the report module is not merged yet.</p>"
        f"<p>{html.escape(source.departure_id)} {html.escape(source.status)} "
        f"{html.escape(source.generated_at)}</p><p>{digest}</p></body></html>\n"
    ).encode()


def placeholder_pdf(report_html: bytes, content_manifest: bytes) -> bytes:
    """PLACEHOLDER: not a PDF; says so."""
    return b"PLACEHOLDER: report.pdf is rendered once the report module is merged.\n"
