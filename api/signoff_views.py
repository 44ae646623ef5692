"""What an item view shows of its signers, sign-offs, lines and how it was handed over.

Kept apart from ``api/views.py`` so the item view gains one block: ``signoff_fields(item)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from api.facts import HowHandedOver, LineRejected
from ledger.aggregates.item import HandoverItem


class SignOffView(BaseModel):
    """One required sign-off of the current submission: the slot (a principal or a department
    queue) and, once signed, who signed it, with their note, acknowledged lines and how."""

    model_config = ConfigDict(frozen=True)

    signer: str
    signed: bool
    by: str | None = None
    note: str | None = None
    strong: bool = False
    acknowledged: list[str] = []
    how: HowHandedOver | None = None


class LineView(BaseModel):
    """One line of the current submission, with who acknowledged it and who rejected it."""

    model_config = ConfigDict(frozen=True)

    id: str
    text: str
    acknowledged_by: list[str] = []
    rejected: list[LineRejected] = []


def signoff_fields(item: HandoverItem) -> dict[str, Any]:
    """The item view's issue-9 fields."""
    signoffs = []
    for slot in item.required_signers():
        done = item.signoffs.get(slot)
        if done is None:
            signoffs.append(SignOffView(signer=slot, signed=False))
            continue
        signoffs.append(SignOffView(
            signer=slot, signed=True, by=str(done["by"]), note=str(done["note"]),
            strong=done["signed"] is True,
            acknowledged=[str(a) for a in _list(done, "acknowledged")],
            how=_how(done.get("how"))))
    lines = [LineView(
        id=str(line["id"]), text=str(line["text"]),
        acknowledged_by=[str(s["by"]) for s in item.signoffs.values()
                         if str(line["id"]) in _list(s, "acknowledged")],
        rejected=[dict(r) for r in item.line_rejections if r.get("id") == line["id"]])
        for line in item.lines]
    return {"signers": item.required_signers(), "signers_in_order": item.signers_in_order,
            "pending_signers": item.pending_signers() if item.state == "submitted" else [],
            "signoffs": signoffs, "lines": lines, "submission_how": _how(item.submission_how),
            "submission_urgent": item.submission_urgent}


def _list(record: Mapping[str, object], key: str) -> list[Any]:
    value = record.get(key)
    return value if isinstance(value, list) else []


def _how(value: object) -> dict[str, Any] | None:
    return dict(value) if isinstance(value, dict) else None
