"""The confirmation statement's one byte form (known answers)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from ledger.errors import VerificationError
from ledger.service.signature import format_statement, quote_text, statement_time

WHEN = dt.datetime(2026, 12, 1, 9, 30, 0, 123456, tzinfo=dt.UTC)
ITEM = "0b6e0c4e-5d2a-4f5e-9a51-7f0e6c2d1a3b"
A, B = "a" * 64, "0" + "f" * 63


def test_a_statement_has_one_exact_byte_form() -> None:
    statement = format_statement("客户资料", ITEM, 4, [("clients.xlsx", A), ("需求.docx", B)],
                                 "zhao.min", WHEN)
    # Written out by hand from the format in ledger/service/signature.py: files sorted by
    # digest (B before A), LF line ends, one final LF.
    expected = (
        "交接确认 / Handover confirmation\n"
        f"事项 / Item: 客户资料 ({ITEM}, version 4)\n"
        f"文件 / File: 需求.docx sha256:{B}\n"
        f"文件 / File: clients.xlsx sha256:{A}\n"
        "接收人 / Receiver: zhao.min\n"
        "时间 / Time: 2026-12-01T09:30:00.123456Z\n")
    assert statement == expected
    # The SHA-256 of its UTF-8 bytes, recorded once with `printf '%s' … | sha256sum` of the
    # text above: the bytes (not only the text Python compares) are fixed.
    assert hashlib.sha256(statement.encode("utf-8")).hexdigest() == (
        "2b1314c66aa7c6ee87e9e4f1ed8fafa5ae5a00d51cd5a9110aafb5e5da3214a8")
    assert statement_time(statement) == WHEN


def test_without_files_the_statement_says_none() -> None:
    statement = format_statement("Badge", ITEM, 2, [], "dept:admin", WHEN)
    assert statement.split("\n")[2] == "文件 / File: 无 / none"


@pytest.mark.parametrize(("text", "quoted"), [
    ("plain 文本", "plain 文本"),
    ("two\nlines", "two\\u{000A}lines"),
    ("cr\rlf", "cr\\u{000D}lf"),
    ("bidi \u202egnp.exe", "bidi \\u{202E}gnp.exe"),
    ("zero\u200bwidth", "zero\\u{200B}width"),
    ("line\u2028sep", "line\\u{2028}sep"),
    ("back\\slash", "back\\\\slash"),
    ("  padded  ", "padded"),
])
def test_names_cannot_break_hide_or_pad_a_line(text: str, quoted: str) -> None:
    assert quote_text(text) == quoted


@pytest.mark.parametrize("statement", [
    "",
    "交接确认 / Handover confirmation\n",
    "时间 / Time: 2026-12-01T09:30:00.123456Z",  # no final LF
    "时间 / Time: 2026-12-01T09:30:00Z\n",  # no microseconds
    "时间 / Time: 2026-12-01T09:30:00.123456+00:00\n",
    "时间 / Time: 2026-12-01 09:30:00.123456Z\n",
    "时间 / Time: 2026-12-01T09:30:00.123456Z\r\n",
])
def test_a_statement_without_its_exact_time_line_is_refused(statement: str) -> None:
    with pytest.raises(VerificationError):
        statement_time(statement)
