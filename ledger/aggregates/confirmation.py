"""The handover confirmation (交接确认书) as the departure sees it: who must sign which digest,
and the errors of signing it and of closing without it (the statement itself is
``ledger.service.handover_statement``)."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.errors import ForbiddenError, InvalidTransitionError


class NotSignatoryError(ForbiddenError):
    """Signing a handover confirmation one is not asked to sign."""


class StaleConfirmationError(InvalidTransitionError):
    """Signing a handover confirmation that has since changed: fetch it again."""


class UnsignedConfirmationError(InvalidTransitionError):
    """Close refused: ``unsigned`` lists who has not signed the handover confirmation."""

    def __init__(self, message: str, *, unsigned: list[str]) -> None:
        super().__init__(message)
        self.unsigned = unsigned


@dataclass(frozen=True)
class ConfirmationDue:
    """The handover confirmation as it stands: its digest and who must sign it (principal →
    the parties they sign as: leaver, receiver, hr), in signing order."""

    sha256: str
    signatories: dict[str, tuple[str, ...]]
