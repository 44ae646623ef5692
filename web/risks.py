"""Why a case is at risk, in the reader's words: the dashboard's rows and the departure
page's alerts give the same reasons (labels in web.labels)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from web.i18n import N_, local_date
from web.labels import RISK_RULE_LABELS


def risk_reason(rule: dict[str, Any], summary: dict[str, Any], lang: str,
                zone: ZoneInfo | None = None) -> tuple[str, dict[str, Any]]:
    """A reason in the reader's words from the figures the board's rule compared (its
    ``figures``), dates as the locale writes them (a moment's day in ``zone``, UTC
    without); the board's own sentence for a rule this console does not know: a msgid and
    its values."""
    figures = rule.get("figures") or {}
    kind = rule["rule"]
    if kind == "last_day_near":
        return N_("the last day, %(day)s, is within 3 days and %(done)s of %(total)s "
                  "mandatory items are done"), {
            "day": local_date(summary["last_working_day"], lang),
            "done": summary["mandatory_done"], "total": summary["mandatory_total"]}
    if kind == "item_overdue" and (figures.get("due") or summary.get("next_due")):
        return N_("an item was due on %(day)s, more than 2 days ago"), {
            "day": local_date(figures.get("due") or summary["next_due"], lang)}
    if kind == "accounts_not_revoked" and "accounts_open" in figures:
        return N_("account items still open more than 24 hours after the last working day "
                  "(%(day)s): %(count)s"), {
            "day": local_date(figures["last_working_day"], lang),
            "count": figures["accounts_open"]}
    if kind == "rejection_not_resubmitted" and figures.get("rejected_at"):
        return N_("an item rejected on %(day)s has not been resubmitted within 2 days"), {
            "day": local_date(local_day(figures["rejected_at"], zone), lang)}
    if kind == "receiver_inactive" and "item" in figures:
        return N_("mandatory item “%(item)s” has no active receiver (%(receiver)s)"), {
            "item": figures["item"], "receiver": figures["receiver"]}
    return "%(why)s", {"why": rule["why"]}


def local_day(moment: str, zone: ZoneInfo | None) -> dt.date:
    """The day of a stored moment (UTC ISO text) on the organisation's clock."""
    at = dt.datetime.fromisoformat(moment)
    at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return at.astimezone(zone or dt.UTC).date()


def risk_reasons(summary: dict[str, Any], lang: str,
                 zone: ZoneInfo | None = None) -> list[dict[str, Any]]:
    """The risk rules that hold for a case summary, each with its label and its reason."""
    found = []
    for rule in summary["risk_reasons"]:
        why, values = risk_reason(rule, summary, lang, zone)
        found.append({"label": RISK_RULE_LABELS.get(rule["rule"], rule["rule"]), "why": why,
                      "figures": values})
    return found
