"""A handover's life as scripts/load.py's steady workload plays it (README "Load test"): what
each open case's people do next, item by item, then the handover confirmation and the close.

Each item of a case (the sales and clearance checklists) is worked as the product requires:
the giver uploads evidence where the checklist line asks for a file (its criteria say 上传,
"uploaded") and submits citing it; each signer (the receiver, a person or a department queue)
confirms, or now and then rejects the first submission and the giver submits again; IT
confirms the account items directly, as the clearance checklist allows; HR waives some
optional items; an item that requires another waits for it. Once every item is confirmed or
waived, HR reads the handover confirmation (交接确认书), every signatory signs it, and HR
closes the case. This module only decides; scripts/load_workload.py sends the requests.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DONE = ("confirmed", "waived")
REJECT_SHARE = 0.1  # of first submissions, rejected once by their first signer
REVIEW_FIRST = 0.5  # how often a case's next step is a submission awaiting its signer
WAIVE_SHARE = 0.3  # of optional items, waived by HR rather than handed over
TEMPLATES = Path(__file__).resolve().parents[1] / "ledger" / "templates"


def checklist_lines() -> dict[str, dict[str, Any]]:
    """The built-in checklists' lines by title (an item records its line's title)."""
    lines: dict[str, dict[str, Any]] = {}
    for path in sorted(TEMPLATES.glob("*.json")):
        for spec in json.loads(path.read_text())["items"]:
            lines.setdefault(str(spec["title"]), spec)
    return lines


@dataclass(frozen=True)
class Part:
    """One item of a case as the workload works it: who gives it, who signs it (in order),
    what it requires, and what its checklist line asks."""

    id: str
    giver: str
    signers: tuple[str, ...]
    requires: tuple[str, ...]
    mandatory: bool
    direct: bool  # its department confirms it without a submission
    evidence: bool  # the line asks for a file: uploaded, then cited by the submission


def part_of(item_id: str, title: str, giver: str, signers: list[str], requires: list[str],
            mandatory: bool, lines: dict[str, dict[str, Any]]) -> Part:
    """The part for an item, its line found by title (None of the flags for an unknown one)."""
    spec = lines.get(title, {})
    return Part(item_id, giver, tuple(signers), tuple(requires), mandatory,
                bool(spec.get("department_may_confirm_directly")) and len(signers) == 1,
                "上传" in str(spec.get("acceptance_criteria", "")))


@dataclass
class Progress:
    """An item's state as the workload has made it."""

    state: str = "open"
    submissions: int = 0
    signed: int = 0  # sign-offs of the current submission
    uploads: list[dict[str, Any]] = field(default_factory=list)  # to cite when submitting
    busy: bool = False  # a request on it is in flight


@dataclass(frozen=True)
class Action:
    """What to do next: ``kind`` on ``item`` (None for the case's own steps) as ``who``."""

    kind: str  # upload, submit, confirm, reject, waive, statement, sign, close
    who: str  # a party: a principal id or a department queue (dept:it ...)
    item: str | None = None


@dataclass
class Handover:
    """One open case: its parts, their progress, and the confirmation's signing."""

    departure_id: str
    hr: str
    parts: dict[str, Part]
    progress: dict[str, Progress]
    inflight: int = 0  # requests on the case's items in flight
    busy: bool = False  # a step of the case itself (statement, signature, close) in flight
    statement: str | None = None  # the confirmation's digest, once read
    unsigned: list[str] = field(default_factory=list)

    def done(self) -> bool:
        return all(p.state in DONE for p in self.progress.values())

    def open_items(self) -> int:
        return sum(p.state not in DONE for p in self.progress.values())

    def workable(self) -> list[str]:
        """Items not done, not in flight, whose required items are done."""
        return [i for i, p in self.progress.items() if p.state not in DONE and not p.busy
                and all(self.progress[r].state in DONE for r in self.parts[i].requires
                        if r in self.progress)]

    def next_action(self, rng: random.Random) -> Action | None:
        """The case's next step, or None while nothing can be done now (every workable item
        in flight; a close waiting for requests on its items)."""
        if self.done():
            if self.busy:
                return None
            if self.statement is None:
                return Action("statement", self.hr)
            if self.unsigned:
                return Action("sign", self.unsigned[0])
            return Action("close", self.hr) if self.inflight == 0 else None
        workable = self.workable()
        if not workable:
            return None
        # Receivers answer what waits in their inbox before the leaver hands over the next.
        waiting = [i for i in workable if self.progress[i].state == "submitted"]
        item = rng.choice(waiting if waiting and rng.random() < REVIEW_FIRST else workable)
        part, progress = self.parts[item], self.progress[item]
        if progress.state in ("open", "rejected"):
            if part.direct:
                return Action("confirm", part.signers[0], item)
            if not part.mandatory and progress.submissions == 0 and rng.random() < WAIVE_SHARE:
                return Action("waive", self.hr, item)
            if part.evidence and not progress.uploads:
                return Action("upload", part.giver, item)
            return Action("submit", part.giver, item)
        signer = part.signers[min(progress.signed, len(part.signers) - 1)]
        if progress.submissions == 1 and progress.signed == 0 and rng.random() < REJECT_SHARE:
            return Action("reject", signer, item)
        return Action("confirm", signer, item)

    def after(self, action: Action, answer: dict[str, Any]) -> None:
        """Record what a successful ``action`` did (``answer``: the command's result)."""
        if action.item is None:
            return
        progress = self.progress[action.item]
        if action.kind == "upload":
            progress.uploads.append({k: answer[k] for k in ("sha256", "size", "name",
                                                            "media_type")})
        elif action.kind == "submit":
            progress.state, progress.submissions, progress.signed = "submitted", \
                progress.submissions + 1, 0
        elif action.kind == "reject":
            progress.state, progress.signed = "rejected", 0
        elif action.kind == "waive":
            progress.state = "waived"
        elif action.kind == "confirm":
            progress.signed += 1
            if progress.state != "submitted" or progress.signed >= len(
                    self.parts[action.item].signers):
                progress.state = "confirmed"
