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
