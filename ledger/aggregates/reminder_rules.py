"""The scheduler's rules (from the seeds), by name: a reminder or escalation records which
one sent it."""

from __future__ import annotations

SCHEDULER_RULES = (
    "due_today",            # remind the giver on the due date
    "overdue_manager",      # escalate to the leaver's manager 2 days overdue
    "overdue_hr",           # escalate to the case's HR owner 3 days overdue
    "accounts_not_revoked",  # alert IT: accounts open 24 hours after the last working day
    "last_day_under_half",  # warn HR 3 days before the last day when under half is done
)
