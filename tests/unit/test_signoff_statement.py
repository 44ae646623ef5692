"""The confirmation statement of a submission in lines, and of one of several signers.

Items without lines or declared signers keep the statement bytes they had (the known answer in
test_signature_statement.py still holds), so signatures made before issue 9 still verify.
"""

from __future__ import annotations

import datetime as dt

from ledger.aggregates.item import HandoverItem
from ledger.service.signature import confirmation_statement, format_statement

WHEN = dt.datetime(2026, 12, 1, 9, 30, 0, 123456, tzinfo=dt.UTC)
ITEM = "0b6e0c4e-5d2a-4f5e-9a51-7f0e6c2d1a3b"
A = "a" * 64


def test_the_lines_follow_the_files_in_the_submissions_order() -> None:
    statement = format_statement("风险清单", ITEM, 5, [("risks.xlsx", A)], "zhao.min", WHEN,
                                 [("r-2", "汇率风险: 未对冲"), ("r-1", "诉讼\n风险")])

    # Written out by hand from the format in ledger/service/signature.py.
    assert statement == (
        "交接确认 / Handover confirmation\n"
        f"事项 / Item: 风险清单 ({ITEM}, version 5)\n"
        f"文件 / File: risks.xlsx sha256:{A}\n"
        "条目 / Line: r-2 汇率风险: 未对冲\n"
        "条目 / Line: r-1 诉讼\\u{000A}风险\n"
        "接收人 / Receiver: zhao.min\n"
        "时间 / Time: 2026-12-01T09:30:00.123456Z\n")


def test_one_of_several_signers_signs_as_signer() -> None:
    statement = format_statement("T", ITEM, 3, [], "li.qiang", WHEN, signer=True)

    assert statement.split("\n")[-3] == "签字人 / Signer: li.qiang"


def test_an_item_without_lines_or_signers_keeps_its_statement_bytes() -> None:
    item = HandoverItem(
        departure_id="d", category="clients", title="客户资料", label="",
        acceptance_criteria="", giver_id="wang.lei", receiver="zhao.min", mandatory=True,
        priority="normal", due_date=None, template_item_key=None)
    item.submit(by="wang.lei", on_behalf=False, note="", evidence=[])

    assert confirmation_statement(item, "zhao.min", WHEN) == format_statement(
        "客户资料", str(item.id), item.version, [], "zhao.min", WHEN)


def test_a_signers_statement_lists_the_current_submissions_lines() -> None:
    item = HandoverItem(
        departure_id="d", category="management", title="风险清单", label="",
        acceptance_criteria="", giver_id="coo", receiver="successor", mandatory=True,
        priority="high", due_date=None, template_item_key=None,
        signers=["hr.sun", "successor"], signers_in_order=True)
    item.submit(by="coo", on_behalf=False, note="", evidence=[],
                lines=[{"id": "r-1", "text": "供应商集中"}])

    statement = confirmation_statement(item, "hr.sun", WHEN)

    assert "条目 / Line: r-1 供应商集中\n签字人 / Signer: hr.sun\n" in statement
