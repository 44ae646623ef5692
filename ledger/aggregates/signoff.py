"""Sign-offs: the rules for items that several people sign, and for submissions in lines.

An item requires one sign-off per signer slot (a principal id or a department queue); without
declared signers its receiver is the one slot, exactly as before. Seeds: 004 "由客户经理与新接手人
共同签字" (two signers, any order); 002 "部门负责人审核→HR确认→接收方签字" (in order); 003 "每一项都
需要相关负责人(如部门经理、HR)确认".

A submission may carry lines (one per client, contract or risk); each signer acknowledges every
line of the submission they confirm, or rejects named lines with reasons (002: the CHO case turned
on one unconfirmed line of the risk register, "逐条签字确认").

Pure: these functions only decide; ``HandoverItem`` records the events.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from ledger.canonical import JSONObject
from ledger.errors import ForbiddenError, InvalidInputError, InvalidTransitionError

MODES = ("on_site", "remote", "meeting", "recorded_walkthrough")
MAX_SIGNERS = 10


class NotSignerError(ForbiddenError):
    """Signing, or rejecting, as someone who holds no pending sign-off of this item."""


class SignOffOrderError(InvalidTransitionError):
    """Signing an item whose sign-offs are in order before the earlier signers have."""


class AlreadySignedError(InvalidTransitionError):
    """Signing (or rejecting) the same submission a second time, in any slot."""


class LinesNotAcknowledgedError(InvalidInputError):
    """A confirmation that leaves lines of its submission unacknowledged (HTTP 422)."""


def pending_slots(required: Sequence[str], signoffs: Mapping[str, JSONObject]) -> list[str]:
    """The slots of ``required`` nobody has signed yet for the current submission, in order."""
    return [slot for slot in required if slot not in signoffs]


def choose_slot(required: Sequence[str], signoffs: Mapping[str, JSONObject], by: str,
                acting_for: Collection[str], in_order: bool, item_id: object,
                signing: bool = True) -> str:
    """The slot ``by`` (who may act for ``acting_for``) signs now, or the error refusing it.

    A principal signs a submission once, whatever queues they work: two slots filled by one
    person would make "several signers" one. In order, only the first pending slot may sign;
    a rejection (``signing=False``) may come from any pending slot.
    """
    if any(signed.get("by") == by for signed in signoffs.values()):
        raise AlreadySignedError(f"{by} has already signed the current submission of "
                                 f"item {item_id}")
    pending = pending_slots(required, signoffs)
    mine = [slot for slot in pending if slot in acting_for]
    if not mine:
        raise NotSignerError(f"{by} holds no pending sign-off of item {item_id} "
                             f"(required: {', '.join(required)})")
    if signing and in_order and pending[0] not in acting_for:
        raise SignOffOrderError(f"item {item_id} is signed in order: {pending[0]} signs "
                                f"before {mine[0]}")
    return pending[0] if pending[0] in acting_for else mine[0]


def line_ids(lines: Sequence[JSONObject]) -> list[str]:
    """The ids of a submission's lines, in their order."""
    return [str(line["id"]) for line in lines]


def require_all_acknowledged(lines: Sequence[JSONObject], acknowledged: Sequence[str],
                             item_id: object) -> None:
    """Refuse a confirmation that leaves a line unacknowledged or names a line that is not
    in the submission (it would acknowledge something nobody submitted)."""
    ids = line_ids(lines)
    require_known_lines(ids, acknowledged, "acknowledged", item_id)
    missing = [i for i in ids if i not in set(acknowledged)]
    if missing:
        raise LinesNotAcknowledgedError(
            f"the confirmation of item {item_id} must acknowledge every line of its "
            f"submission; not acknowledged: {', '.join(missing)}", field="acknowledged")


def require_known_lines(ids: Sequence[str], named: Sequence[str], field: str,
                        item_id: object) -> None:
    """Refuse line ids that are not lines of the current submission, or named twice."""
    unknown = [i for i in named if i not in set(ids)]
    if unknown:
        raise InvalidInputError(f"not lines of the current submission of item {item_id}: "
                                f"{', '.join(unknown)}", field=field)
    if len(set(named)) != len(named):
        raise InvalidInputError("a line is named twice", field=field)


def require_lines_reviewed_once(acknowledged: Sequence[str],
                                rejected: Sequence[JSONObject]) -> None:
    """A line is either acknowledged or rejected by one signer, not both."""
    both = sorted(set(acknowledged) & {str(r["id"]) for r in rejected})
    if both:
        raise InvalidInputError(f"lines both acknowledged and rejected: {', '.join(both)}",
                                field="rejected_lines")


def resolve_signers(signers: Sequence[str], giver: str, receiver: str) -> list[str]:
    """An item's signer slots as stored: duplicates dropped (first place kept); the giver
    may not sign their own handover; one slot that is just the receiver is stored as none
    (the item then behaves, and records, exactly as a single-receiver item).

    Declared signers include the receiver: one left out is refused rather than added, since
    where it signs among signers in order, and whether the caller meant another receiver, is
    the caller's to say (left out, the receiver could not confirm what it receives).
    """
    slots = list(dict.fromkeys(signers))
    if giver in slots:
        raise InvalidInputError(f"the giver ({giver}) cannot sign their own handover",
                                field="signers")
    if slots and receiver not in slots:
        raise InvalidInputError(f"the receiver ({receiver}) must be one of the signers",
                                field="signers")
    if len(slots) > MAX_SIGNERS:
        raise InvalidInputError(f"at most {MAX_SIGNERS} signers", field="signers")
    return [] if slots == [receiver] else slots
