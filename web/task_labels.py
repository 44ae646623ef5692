"""What the inbox and the item pages show for the ledger's codes (inbox actions, item
states, dispute parties) and where each inbox entry is done."""

from __future__ import annotations

from typing import Any

from web.i18n import N_

ACTION_LABELS = {
    "submit": N_("Submit"), "resubmit": N_("Resubmit after a rejection"),
    "confirm": N_("Confirm or reject"), "answer_question": N_("Answer a question"),
    "approve": N_("Approve a step"), "sign_confirmation": N_("Sign the handover confirmation"),
    "close": N_("Close the case"), "waive": N_("Waive an item nobody can receive"),
    "accept_or_decline": N_("Accept or decline a request"),
    "state_in_dispute": N_("State your side in a dispute"),
}
ITEM_STATE_LABELS = {
    "open": N_("Open"), "submitted": N_("Submitted, awaiting confirmation"),
    "confirmed": N_("Confirmed"), "rejected": N_("Rejected"), "waived": N_("Waived"),
}
PARTY_LABELS = {
    "hr": N_("HR"), "manager": N_("Manager"), "receiver": N_("Receiver"),
    "leaver": N_("Leaver"), "giver": N_("Giver"),
}
RESPONSIBILITY_LABELS = {
    "giver": N_("The giver"), "receiver": N_("The receiver"), "shared": N_("Shared"),
    "none": N_("No one"),
}


def action_link(entry: dict[str, Any]) -> str:
    """The console page on which an inbox entry is done."""
    if entry.get("dispute_id"):
        return f"/console/disputes/{entry['dispute_id']}"
    if entry["action"] == "sign_confirmation":
        return f"/console/departures/{entry['departure_id']}/confirmation"
    if entry.get("item_id"):
        return f"/console/items/{entry['item_id']}"
    return f"/console/departures/{entry['departure_id']}"
