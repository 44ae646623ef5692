"""The server log as ``ledger serve`` writes it (ledger.log_format's JSON lines), captured in
memory for a test."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

from ledger.log_format import JsonFormatter


class CapturedLog:
    """Every line written while the capture is open."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.raw: list[logging.LogRecord] = []  # as logged, before the formatter's redaction

    def unredacted(self, *, besides: tuple[str, ...] = ()) -> str:
        """Every record's message and fields as logged (the loggers ``besides`` left out)."""
        return "\n".join(f"{r.getMessage()} {getattr(r, 'fields', '')}" for r in self.raw
                         if r.name not in besides)

    @property
    def text(self) -> str:
        """The raw lines."""
        return self.stream.getvalue()

    def records(self) -> list[dict[str, Any]]:
        """Each line, parsed (a line that is not one JSON object fails the test)."""
        return [json.loads(line) for line in self.text.splitlines()]


class _Keeper(logging.Handler):
    def __init__(self, into: list[logging.LogRecord]) -> None:
        super().__init__()
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record)


@contextlib.contextmanager
def captured_log() -> Iterator[CapturedLog]:
    """Capture the root logger's INFO and above as JSON lines."""
    captured = CapturedLog()
    handler = logging.StreamHandler(captured.stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    keeper = _Keeper(captured.raw)
    root.addHandler(keeper)
    root.setLevel(logging.INFO)
    try:
        yield captured
    finally:
        root.removeHandler(handler)
        root.removeHandler(keeper)
        root.setLevel(level)
