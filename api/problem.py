"""Errors as RFC 9457 ``application/problem+json``, from one mapping table.

Unknown exceptions become a generic 500 carrying an error id that is logged with the stack
trace; clients never see a trace.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import cast

from aiohttp import web
from pydantic import ValidationError

from api.endpoint import Handler
from api.facts import Fact
from ledger.aggregates.confirmation import UnsignedConfirmationError
from ledger.errors import (
    ConfigurationError,
    ConflictError,
    ForbiddenError,
    GateBlockedError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    InvalidTransitionError,
    LedgerError,
    NotFoundError,
    PreconditionFailedError,
    PushbackError,
    RateLimitedError,
    StorageFullError,
    TooLargeError,
    UnauthenticatedError,
    VerificationError,
)

log = logging.getLogger("ledger.api")
PROBLEM_TYPE = "application/problem+json"


class FieldError(Fact):
    """One invalid field of a request and what is wrong with it."""

    field: str
    message: str


class Problem(Fact):
    """An RFC 9457 problem document, with the members some problems add: ``field`` (the
    invalid input), ``errors`` (every invalid field of a body), ``blocking_items`` (the
    mandatory items that keep a departure from closing), ``unsigned_by`` (who has not signed
    the handover confirmation) and ``error_id`` (a server error, as logged)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    field: str | None = None
    errors: list[FieldError] | None = None
    blocking_items: list[str] | None = None
    unsigned_by: list[str] | None = None
    error_id: str | None = None

# Most specific first: the first matching row decides.
STATUS_TABLE: tuple[tuple[type[LedgerError], int, str], ...] = (
    (GateBlockedError, 409, "Departure cannot close yet"),
    (UnsignedConfirmationError, 409, "Handover confirmation not signed by everyone"),
    (NotFoundError, 404, "Not found"),
    (UnauthenticatedError, 401, "Authentication required"),
    (PreconditionFailedError, 412, "Precondition failed"),
    (ConflictError, 409, "Conflict"),
    (IdempotencyKeyReusedError, 422, "Idempotency key reused"),
    (TooLargeError, 413, "Too large"),
    (InvalidInputError, 422, "Invalid input"),
    (ForbiddenError, 403, "Forbidden"),
    (InvalidTransitionError, 409, "Not allowed in the current state"),
    (VerificationError, 422, "Verification failed"),
    (RateLimitedError, 429, "Too many requests"),
    (StorageFullError, 507, "Insufficient storage"),  # RFC 4918 section 11.5
    (PushbackError, 503, "Try again later"),
    (ConfigurationError, 500, "Server misconfigured"),
)


def problem_body(status: int, title: str, detail: str, **extra: object) -> dict[str, object]:
    """An RFC 9457 problem document."""
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}


def problem(status: int, title: str, detail: str, **extra: object) -> web.Response:
    """A problem+json response."""
    return respond(problem_body(status, title, detail, **extra))


def respond(body: dict[str, object]) -> web.Response:
    """The problem+json response carrying ``body`` (its ``status`` is the HTTP status)."""
    return web.Response(status=cast(int, body["status"]),
                        text=json.dumps(body, ensure_ascii=False), content_type=PROBLEM_TYPE)


def route_of(request: web.Request) -> str:
    """The request's route as declared (``/console/sign-in/link/{secret}``), never its path: a
    path can carry a secret (a sign-in link), and the server log must not."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "(no route)"


def internal_problem(detail: str, where: str,
                     error: BaseException | None = None) -> dict[str, object]:
    """A 500 problem with a fresh error id, logged under that id with the traceback of
    ``error`` (default: the error being handled); the client sees only the id."""
    error_id = uuid.uuid4().hex
    log.error("%s: error id %s", where, error_id, exc_info=error if error is not None else True)
    return problem_body(500, "Internal error", detail, error_id=error_id)


def describe_error(error: LedgerError) -> dict[str, object]:
    """The problem document for one ledger error (its ``status`` from the table)."""
    for error_type, status, title in STATUS_TABLE:
        if isinstance(error, error_type):
            extra: dict[str, object] = {}
            if isinstance(error, GateBlockedError):
                extra["blocking_items"] = error.blocking
            if isinstance(error, UnsignedConfirmationError):
                extra["unsigned_by"] = error.unsigned
            if isinstance(error, InvalidInputError) and error.field:
                extra["field"] = error.field
            return problem_body(status, title, str(error), **extra)
    return problem_body(500, "Internal error", "unexpected ledger error")


def render_error(error: LedgerError) -> web.Response:
    """Map one ledger error to its response."""
    response = respond(describe_error(error))
    if isinstance(error, PushbackError):
        response.headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, UnauthenticatedError):
        response.headers["WWW-Authenticate"] = 'Bearer realm="handover-ledger"'
    return response


def describe_validation(e: ValidationError) -> dict[str, object]:
    """The problem document for a pydantic validation error."""
    errors = [{"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]}
              for err in e.errors(include_url=False, include_input=False)]
    return problem_body(422, "Invalid input", f"{e.error_count()} invalid field(s)",
                        errors=errors, field=errors[0]["field"] if errors else None)


REQUEST_ID = web.RequestKey("request_id", str)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every error into problem+json (the request's id, which the response echoes in
    X-Request-Id, is given by api/access_log.py, the outer middleware)."""
    return await _problems(request, handler)


async def _problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except LedgerError as e:
        response = render_error(e)
        if response.status >= 500 and not isinstance(e, PushbackError):
            # an unexpected store error: log it, give an id
            return respond(internal_problem("the server failed; quote the error id",
                                            f"{request.method} {route_of(request)}"))
        return response
    except ValidationError as e:  # pydantic: the one place its errors become ours
        return respond(describe_validation(e))
    except web.HTTPException as e:
        if e.status < 400:
            raise
        response = problem(e.status, e.reason, e.text or e.reason)
        if "Allow" in e.headers:  # RFC 9110: a 405 says which methods are allowed
            response.headers["Allow"] = e.headers["Allow"]
        return response
    except ConnectionResetError:  # the client went away mid-answer: nothing to answer, no bug
        raise
    except Exception:
        return respond(internal_problem("the server failed; quote the error id",
                                        f"unhandled on {request.method} {route_of(request)}"))
