"""The server log's last line of defence: secrets cut wherever they stand in a line, and
aiohttp's own server logger never quoting a malformed request's text."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from ledger.log_format import configure_logging, redact


@pytest.mark.parametrize("before", [" ", "\\x01", "\n", "\t", "_", "=", "x"])
def test_a_secret_is_cut_whatever_stands_before_it(before: str) -> None:
    for secret in ("hll_" + "D" * 43, "hl_" + "Z" * 43):
        line = redact(f"GET /console/sign-in/link/{before}{secret} HTTP/1.1")
        assert secret[5:] not in line and "[redacted]" in line


def test_aiohttp_server_lines_never_quote_the_refused_request(
        monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    written = io.StringIO()
    monkeypatch.setattr(sys, "stderr", written)
    server = logging.getLogger("aiohttp.server")
    filters = list(server.filters)
    try:
        configure_logging("json", "INFO")
        server.error("Error handling request from %s: %s", "127.0.0.1",
                     "Bad header: Authorization: Bearer metrics-scrape-secret-0123456789\x01")
        server.error("Bad status line 'GET /v1/departures?password=hunter5SECRET\\x01'")
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in handlers:
            root.addHandler(h)
        root.setLevel(level)
        server.filters[:] = filters
        logging.getLogger("aiohttp.access").disabled = False
    text = written.getvalue()
    assert "metrics-scrape-secret" not in text and "hunter5SECRET" not in text
    assert text.count("a malformed HTTP request was refused") == 2
