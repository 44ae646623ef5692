"""The handover confirmation (交接确认书): one statement of the whole case, to be signed.

Seed 000: "交接双方在系统内签署'交接确认书'" (its dispute arose because there was
"没有双方的签字确认"). Before close, the case produces one human-readable statement, Chinese
and English, listing every item, its final state, its signers and every file digest; the
leaver, each receiver (each principal that signed an item off) and the case's HR owner sign it.

The exact byte form (what is signed; its SHA-256 is what a signature event records):
- UTF-8, LF line ends, one final LF, no empty lines, no leading or trailing spaces; names and
  titles quoted as in ``ledger.service.signature.quote_text``;
- the heading, the departure id, the leaver (name and id) and the HR owner;
- per item, in the departure's order: ``事项 / Item: <title> (<id>)``, then its state, giver,
  receiver, ``签字 / Signed off by:`` (comma-separated, or ``无 / none``) and one
  ``文件 / File: <name> sha256:<hex>`` line per file of the last submission, sorted by digest
  then name, then one ``未提交的上传 / Uploaded, not submitted: <name> sha256:<hex>`` line per
  other file uploaded to the item (by digest; its latest name), so every file digest of the
  case is on it; then, when the last submission has lines ("逐条签字确认"; seed 002's
  CHO case turned on one unconfirmed line of the risk register), one
  ``条目 / Line: <line id> <text> (确认 / acknowledged by: <ids, or 无 / none>)`` line per line
  in the submission's order, id and text quoted as in ``quote_text`` and as on the item's own
  confirmation statement; the acknowledgers are the principals whose sign-offs of that
  submission acknowledged the line, in signing order. Line ids and principal ids hold no
  spaces or parentheses, so the suffix is the line's last `` (确认 / acknowledged by: ``;
- last, ``签署 / To be signed by:`` each signatory as ``<id> (<parties>)``, comma-separated.
It names no time and no departure version: the same case gives the same bytes, so a signature
stays valid until an item's state, signers or files change (or the signatories do).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ledger.aggregates.confirmation import ConfirmationDue
from ledger.aggregates.departure import Departure
from ledger.aggregates.item import HandoverItem
from ledger.service.signature import LINE_LABEL, quote_text

HEADING = "交接确认书 / Handover confirmation"
NONE = "无 / none"
ACKNOWLEDGED_LABEL = "确认 / acknowledged by: "


def signatories(departure: Departure, items: Sequence[HandoverItem]) -> dict[str, tuple[str, ...]]:
    """Who signs the confirmation, in order (the leaver, each receiver, the HR owner), each
    with the parties they sign as. Receivers are the principals that signed an item off
    (``HandoverItem.signers``): a department queue signs through the member who confirmed."""
    parties: dict[str, list[str]] = {departure.leaver_id: ["leaver"]}
    for who in sorted({s for item in items for s in item.signed_off_by()}):
        parties.setdefault(who, []).append("receiver")
    parties.setdefault(departure.hr_owner_id, []).append("hr")
    return {who: tuple(roles) for who, roles in parties.items()}


def _item_lines(item: HandoverItem) -> list[str]:
    files = sorted((str(e["sha256"]), quote_text(str(e.get("name", ""))))
                   for e in item.evidence)
    submitted = {digest for digest, _ in files}
    others = sorted((digest, quote_text(str(upload.get("name", ""))))
                    for digest, upload in item.uploads.items() if digest not in submitted)
    return [
        f"事项 / Item: {quote_text(item.title)} ({item.id})",
        f"状态 / State: {item.state}",
        f"交出人 / Giver: {item.giver_id}",
        f"接收人 / Receiver: {item.receiver}",
        f"签字 / Signed off by: {', '.join(item.signed_off_by()) or NONE}",
        *(f"文件 / File: {name} sha256:{digest}" for digest, name in files),
        *_submission_lines(item),
        *(f"未提交的上传 / Uploaded, not submitted: {name} sha256:{digest}"
          for digest, name in others),
    ]


def _submission_lines(item: HandoverItem) -> list[str]:
    """One statement line per line of the item's last submission, with who acknowledged it."""
    out = []
    for line in item.lines:
        line_id = str(line["id"])
        by = [str(s["by"]) for s in item.signoffs.values()
              if line_id in _strings(s.get("acknowledged"))]
        out.append(f"{LINE_LABEL}{quote_text(line_id)} {quote_text(str(line['text']))} "
                   f"({ACKNOWLEDGED_LABEL}{', '.join(dict.fromkeys(by)) or NONE})")
    return out


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def handover_statement(departure: Departure, items: Sequence[HandoverItem]) -> str:
    """The statement's exact text for ``departure`` with ``items`` (its items, any order)."""
    by_id = {str(item.id): item for item in items}
    leaver = quote_text(str(departure.leaver.get("name", "")))
    lines = [HEADING, f"离职交接 / Departure: {departure.id}",
             f"离职人 / Leaver: {leaver} ({departure.leaver_id})",
             f"人力资源 / HR: {departure.hr_owner_id}"]
    for item_id in departure.item_ids:
        lines += _item_lines(by_id[item_id])
    if not departure.item_ids:
        lines.append(f"事项 / Item: {NONE}")
    signing = signatories(departure, items)
    lines.append("签署 / To be signed by: " + ", ".join(
        f"{who} ({'+'.join(parties)})" for who, parties in signing.items()))
    return "\n".join(lines) + "\n"


def statement_digest(statement: str) -> str:
    """The SHA-256 (lower-case hex) of the statement's UTF-8 bytes."""
    return hashlib.sha256(statement.encode("utf-8")).hexdigest()


def confirmation_due(departure: Departure,
                     items: Sequence[HandoverItem]) -> tuple[str, ConfirmationDue]:
    """The statement and what the departure needs to judge signatures of it."""
    statement = handover_statement(departure, items)
    return statement, ConfirmationDue(statement_digest(statement),
                                      signatories(departure, items))
