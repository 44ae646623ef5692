"""Why a case is at risk, in the reader's words: the dashboard's rows and the departure
page's alerts give the same reasons (labels in web.labels)."""

from __future__ import annotations

from typing import Any

from web.i18n import N_, local_date
from web.labels import RISK_RULE_LABELS


def risk_reason(rule: dict[str, str], summary: dict[str, Any],
                lang: str) -> tuple[str, dict[str, Any]]:
    """A reason in the reader's words where the summary holds its figures (the same the
    board's rule compared), else the board's own sentence: a msgid and its values."""
    if rule["rule"] == "last_day_near":
        return N_("the last day, %(day)s, is within 3 days and %(done)s of %(total)s "
                  "mandatory items are done"), {
            "day": local_date(summary["last_working_day"], lang),
            "done": summary["mandatory_done"], "total": summary["mandatory_total"]}
    if rule["rule"] == "item_overdue" and summary.get("next_due"):
        return N_("an item was due on %(day)s, more than 2 days ago"), {
            "day": local_date(summary["next_due"], lang)}
    return "%(why)s", {"why": rule["why"]}


def risk_reasons(summary: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """The risk rules that hold for a case summary, each with its label and its reason."""
    found = []
    for rule in summary["risk_reasons"]:
        why, values = risk_reason(rule, summary, lang)
        found.append({"label": RISK_RULE_LABELS.get(rule["rule"], rule["rule"]), "why": why,
                      "figures": values})
    return found
