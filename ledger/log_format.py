"""The server log: one line per record, JSON (the default, for a log collector) or text (for a
person at a terminal), chosen by LEDGER_LOG_FORMAT and LEDGER_LOG_LEVEL at ``ledger serve``.

A record's structured fields travel as ``extra={"fields": {...}}`` (``fields`` below); the
JSON line carries them as top-level members beside ``time``, ``level``, ``logger`` and
``message``. Whatever a caller passes, a bearer token or a sign-in link's secret (their
recognisable prefixes, ``hl_`` and ``hll_``) never reaches the output: it is cut to its prefix
(``redact``), a safety net behind the rule that no secret is logged in the first place.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Mapping
from typing import Any, Literal

from ledger.principals import TOKEN_PREFIX
from ledger.sign_in_link import LINK_PREFIX

# The tokens' and links' secrets: their prefix, then base64url (secrets.token_urlsafe).
# No word boundary before the prefix: a secret after an escaped byte ("\\x01hll_…") or a
# "_" is cut too (a longer name that happens to end in the prefix loses its tail, harmless).
_SECRET = re.compile(rf"({re.escape(LINK_PREFIX)}|{re.escape(TOKEN_PREFIX)})[A-Za-z0-9_\-]{{8,}}")
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "fields"}


def fields(**values: object) -> dict[str, Any]:
    """``extra=`` for a log call carrying structured ``values`` (JSON members)."""
    return {"fields": values}


def redact(text: str) -> str:
    """``text`` with every token or sign-in link secret cut to its prefix."""
    return _SECRET.sub(lambda m: m.group(1) + "[redacted]", text)


def _fields_of(record: logging.LogRecord) -> Mapping[str, Any]:
    given = getattr(record, "fields", None)
    return given if isinstance(given, Mapping) else {}


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage()}
        for key, value in _fields_of(record).items():
            line.setdefault(key, value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(line, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    """``time level logger message key=value ...``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = " ".join(f"{k}={v}" for k, v in _fields_of(record).items())
        return redact(f"{text} {extra}" if extra else text)


def configure_logging(form: Literal["json", "text"], level: str) -> None:
    """Send every log record of the process to stderr, one line each, in ``form``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if form == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # aiohttp's own access log would print raw paths (a sign-in link's secret): ours logs
    # the route template instead (api/access_log.py).
    logging.getLogger("aiohttp.access").disabled = True
    # aiohttp's server logger quotes a malformed request's raw line or header (a bearer token,
    # a metrics token, a password in a query): it says only that one was refused.
    logging.getLogger("aiohttp.server").addFilter(_without_request_text)


def _without_request_text(record: logging.LogRecord) -> bool:
    record.msg, record.args, record.exc_info, record.exc_text = (
        "a malformed HTTP request was refused (its text is not logged)", None, None, None)
    return True
