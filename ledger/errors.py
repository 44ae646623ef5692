"""The one error tree of the ledger.

Every error a caller can meet is a ``LedgerError``; the subclass says what the caller can do::

    LedgerError
    ├── NotFoundError            the thing named does not exist            (HTTP 404)
    ├── UnauthenticatedError     no valid credentials                      (HTTP 401)
    ├── ConflictError            a concurrent write won; reload and retry  (HTTP 409)
    │   └── PreconditionFailedError  the caller's expected version is stale (HTTP 412)
    ├── IdempotencyKeyReusedError  same key, different request             (HTTP 422)
    ├── InvalidInputError        the request itself is malformed           (HTTP 422)
    │   └── TooLargeError        the body or upload exceeds its limit      (HTTP 413)
    ├── ForbiddenError           the actor may not do this                 (HTTP 403)
    ├── InvalidTransitionError   the state machine refuses this step       (HTTP 409)
    │   ├── GateBlockedError     close refused: mandatory items still open (HTTP 409)
    │   └── UnsignedConfirmationError  close refused: the handover confirmation
    │                            is not signed by everyone (``unsigned_by``; HTTP 409;
    │                            declared in ledger/aggregates/confirmation.py)
    ├── VerificationError        stored or received data failed a check    (exit 1 / HTTP 422)
    ├── PushbackError            overloaded, try again later               (HTTP 503 + Retry-After)
    │   ├── RateLimitedError     too many failed logins from this address  (HTTP 429 + Retry-After)
    │   └── StorageFullError     no space left to store a file or an event (HTTP 507 + Retry-After)
    └── ConfigurationError       the deployment is set up wrongly          (exit 2)

Driver exceptions (asyncpg, sqlite3) are mapped to this tree in exactly one function per adapter.
Domain-specific errors are declared next to their aggregate and subclass one of these.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose."""


class NotFoundError(LedgerError):
    """The departure, item, template, event or principal named does not exist."""


class ConflictError(LedgerError):
    """Another write reached the same stream version (or unique key) first."""


class PreconditionFailedError(ConflictError):
    """The version the caller expected (If-Match) is not the current one."""


class UnauthenticatedError(LedgerError):
    """No credentials, or credentials that match no principal."""


class IdempotencyKeyReusedError(LedgerError):
    """An idempotency key was replayed with a request different from the first one."""


class InvalidInputError(LedgerError):
    """The input is malformed or outside its limits; ``field`` names the culprit when known."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TooLargeError(InvalidInputError):
    """A body or an upload is larger than allowed."""


class ForbiddenError(LedgerError):
    """The acting principal lacks the role or the relation this action needs."""


class InvalidTransitionError(LedgerError):
    """The aggregate's state machine does not allow this action now."""


class GateBlockedError(InvalidTransitionError):
    """A departure cannot close: ``blocking`` lists the mandatory items not yet done."""

    def __init__(self, message: str, *, blocking: list[str]) -> None:
        super().__init__(message)
        self.blocking = blocking


class VerificationError(LedgerError):
    """A hash, chain, signature or proof check failed.

    The location fields say exactly where, so an operator can find the tampered row.
    """

    def __init__(
        self,
        message: str,
        *,
        stream_id: str | None = None,
        version: int | None = None,
        event_id: str | None = None,
        index: int | None = None,
    ) -> None:
        super().__init__(message)
        self.stream_id = stream_id
        self.version = version
        self.event_id = event_id
        self.index = index


class PushbackError(LedgerError):
    """The ledger is overloaded or not ready; retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConfigurationError(LedgerError):
    """The settings or the environment are wrong (bad URL, missing key file, ...)."""


class RateLimitedError(PushbackError):
    """Too many failed authentications from one client address; retry after ``retry_after``."""


class StorageFullError(PushbackError):
    """The disk (or the database) holding files or events has no space left: nothing was
    stored (a half-written file is removed, a transaction rolled back); the same request
    succeeds once an operator has freed space. Retry after ``retry_after`` seconds."""

    def __init__(self, message: str = "no space left to store this; nothing was stored, "
                 "retry once an operator has freed space", *, retry_after: int = 60) -> None:
        super().__init__(message, retry_after=retry_after)


class ProjectionStoppedError(LedgerError):
    """A projection stopped at an entry it could not apply (a poison event): it applies
    nothing more until an operator rebuilds it; the message names the log index and event."""
