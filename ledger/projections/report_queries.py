"""The handover report (the seeds' statistics): per department, for cases closed in a period,
how many, the median days from notice to close (and the fewest and the most), items rejected
at least once, items done after their due date (or still open past it at the close),
reminders and escalations per case. HR, legal and auditors read it; as JSON or CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections import defaultdict
from typing import Any

import orjson

from ledger.errors import InvalidInputError
from ledger.projections.board import tables
from ledger.projections.board_queries import board_position
from ledger.service.context import Actor
from ledger.service.policy import require_role
from ledger.service.relation import OVERSEERS
from ledger.store.projection_port import ProjectionStore

MAX_PERIOD_DAYS = 3660
COLUMNS = ("department", "closed", "median_days_notice_to_close", "min_days_notice_to_close",
           "max_days_notice_to_close", "items",
           "items_rejected_at_least_once", "items_overdue", "reminders_per_case",
           "escalations_per_case")


def _late(item: dict[str, Any], closed_on: str) -> bool:
    due = item.get("due_date")
    if not due:
        return False
    decided = item.get("last_decision") or {}
    done_on = str(decided.get("at", ""))[:10] if item["state"] in ("confirmed", "waived") else (
        closed_on)
    return bool(done_on > due)


async def handover_report(store: ProjectionStore, actor: Actor, start: dt.date, end: dt.date,
                          department: str | None = None) -> dict[str, Any]:
    """Cases closed from ``start`` to ``end`` (inclusive, by the close's date), by department."""
    require_role(actor, OVERSEERS, "read the handover report")
    if end < start or (end - start).days > MAX_PERIOD_DAYS:
        raise InvalidInputError("the period must run forwards and span at most ten years",
                                field="to")
    where = await board_position(store)
    t = tables(where.generation)
    args: list[object] = [start.isoformat(), (end + dt.timedelta(days=1)).isoformat()]
    clause = ""
    if department is not None:
        args.append(department)
        clause = " AND d.department = $3"
    closed = (f"FROM {t['departures']} d WHERE d.state = 'closed' AND d.closed_at >= $1 "
              f"AND d.closed_at < $2{clause}")
    cases = await store.fetch(f"SELECT d.departure_id, d.department, d.closed_at, d.doc "
                              f"{closed}", *args)
    items_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in await store.fetch(f"SELECT i.departure_id, i.doc FROM {t['items']} i WHERE "
                                 f"i.departure_id IN (SELECT d.departure_id {closed})", *args):
        items_of[row["departure_id"]].append(orjson.loads(row["doc"]))
    by_department: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for case in cases:
        doc = orjson.loads(case["doc"])
        items = items_of[case["departure_id"]]
        closed_on = str(case["closed_at"])[:10]
        by_department[case["department"]].append({
            "days": (dt.date.fromisoformat(closed_on)
                     - dt.date.fromisoformat(doc["notice_date"])).days,
            "items": len(items),
            "rejected": sum(1 for i in items if i["rejections"]),
            "late": sum(1 for i in items if _late(i, closed_on)),
            "reminders": doc["reminders"],
            "escalations": sum(i["escalations"] for i in items)})
    rows = [_row(name, found) for name, found in sorted(by_department.items())]
    return {"position": where.position,
            "period": {"from": start.isoformat(), "to": end.isoformat()}, "departments": rows}


def _row(department: str, cases: list[dict[str, Any]]) -> dict[str, Any]:
    n, days = len(cases), [c["days"] for c in cases]
    return {"department": department, "closed": n,
            "median_days_notice_to_close": statistics.median(days),
            "min_days_notice_to_close": min(days), "max_days_notice_to_close": max(days),
            "items": sum(c["items"] for c in cases),
            "items_rejected_at_least_once": sum(c["rejected"] for c in cases),
            "items_overdue": sum(c["late"] for c in cases),
            "reminders_per_case": round(sum(c["reminders"] for c in cases) / n, 2),
            "escalations_per_case": round(sum(c["escalations"] for c in cases) / n, 2)}


# A spreadsheet reads a cell starting with one of these as a formula (=HYPERLINK(...), a DDE
# call): such a text cell gets a leading single quote (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: object) -> object:
    """``value`` as a CSV cell a spreadsheet shows as text: a string starting with one of
    FORMULA_STARTS is prefixed with ``'``; numbers are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def as_csv(report: dict[str, Any]) -> str:
    """The report's rows as CSV (a header line, one line per department); no text cell is
    read as a formula by a spreadsheet (``neutralised``)."""
    out = io.StringIO()
    # CRLF (RFC 4180): the writer then quotes any field holding a CR or an LF
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in report["departments"]:
        writer.writerow({k: neutralised(v) for k, v in row.items()})
    return out.getvalue()
