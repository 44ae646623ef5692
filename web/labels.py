"""Names the console shows for the ledger's codes (roles, case states), as English msgids
marked for the catalogues; templates translate them with ``_()``. A page area that shows
other codes (item states, categories) adds its table here."""

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
