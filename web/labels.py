"""Names the console shows for the ledger's codes (roles, case, item and dispute states,
categories, decisions, inbox actions, parties), as English msgids marked for the catalogues;
templates translate them with ``_()``. The one table of each: a page area that shows other
codes adds its table here, never a copy in its own module."""

from __future__ import annotations

from web.i18n import N_

ROLE_LABELS = {
    "hr": N_("HR"), "employee": N_("Employee"), "it": N_("IT"), "finance": N_("Finance"),
    "admin": N_("Administration"), "system": N_("System"), "legal": N_("Legal"),
    "auditor": N_("Auditor"), "operator": N_("Operator"),
}
DEPARTURE_STATE_LABELS = {
    "draft": N_("Draft"), "pending_approval": N_("Awaiting approval"),
    "approved": N_("Approved"), "handing_over": N_("Handing over"), "closed": N_("Closed"),
    "withdrawn": N_("Withdrawn"), "requested": N_("Requested by the leaver"),
    "declined": N_("Declined"),
}
ITEM_STATE_LABELS = {
    "open": N_("Open"), "submitted": N_("Submitted, awaiting confirmation"),
    "confirmed": N_("Confirmed"), "rejected": N_("Rejected"), "waived": N_("Waived"),
}
CATEGORY_LABELS = {
    "clients": N_("Clients"), "projects": N_("Projects"), "documents": N_("Documents"),
    "accounts_permissions": N_("Accounts and permissions"), "assets": N_("Assets"),
    "finance": N_("Finance"), "knowledge": N_("Knowledge and SOPs"),
    "management": N_("Management modules"),
}
DISPUTE_STATE_LABELS = {"open": N_("Being examined"), "found": N_("Finding recorded")}
DECISION_LABELS = {
    "approved": N_("Approved"), "confirmed": N_("Confirmed"), "rejected": N_("Rejected"),
    "waived": N_("Waived"), "signed_off": N_("Signed off"), "reassigned": N_("Reassigned"),
}
ACTION_LABELS = {
    "submit": N_("Submit"), "resubmit": N_("Resubmit after a rejection"),
    "confirm": N_("Confirm or reject"), "answer_question": N_("Answer a question"),
    "approve": N_("Approve a step"), "sign_confirmation": N_("Sign the handover confirmation"),
    "close": N_("Close the case"),
    "apply_checklist": N_("Apply a checklist the approval left to you"),
    "waive": N_("Waive an item nobody can receive"),
    "accept_or_decline": N_("Accept or decline a request"),
    "state_in_dispute": N_("State your side in a dispute"),
}
PARTY_LABELS = {
    "hr": N_("HR"), "manager": N_("Manager"), "receiver": N_("Receiver"),
    "leaver": N_("Leaver"), "giver": N_("Giver"),
}
RESPONSIBILITY_LABELS = {
    "giver": N_("The giver"), "receiver": N_("The receiver"), "shared": N_("Shared"),
    "none": N_("No one"),
}
QUEUE_ACTION_LABELS = {
    "confirm": N_("Awaiting your confirmation"), "submit": N_("To submit"),
    "resubmit": N_("To submit again"), "answer_question": N_("A question to answer"),
    "awaiting_giver": N_("Awaiting the giver"),
}
ROLE_FAMILY_LABELS = {
    "sales": N_("Sales"), "technical": N_("Technical"), "admin": N_("Administration"),
    "finance": N_("Finance"), "management": N_("Management"), "general": N_("General"),
}
DEPARTMENT_LABELS = {
    "it": N_("IT department"), "finance": N_("Finance department"),
    "admin": N_("Administration department"),
}
"""The departments whose queue (``dept:<key>``) an item may be given to, by name."""
RISK_LABELS = {"high": N_("High risk"), "medium": N_("Medium risk"), "none": N_("No risk")}
RISK_RULE_LABELS = {
    "last_day_near": N_("Last day near, mandatory items open"),
    "item_overdue": N_("An item is overdue"),
    "accounts_not_revoked": N_("Accounts not revoked after the last day"),
    "rejection_not_resubmitted": N_("A rejection was not resubmitted"),
    "receiver_inactive": N_("A receiver is no longer active"),
}
