"""What every command is made of: validated scalar types (ids, texts, dates, digests, JSON
integers), the frozen ``Model`` base, and the parts commands share (a leaver, an approval step,
evidence, a signature, lines of a submission and how it was handed over)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
)

from ledger.aggregates.departure import ROLE_FAMILIES
from ledger.aggregates.item import CATEGORIES, PRIORITIES
from ledger.aggregates.signoff import MODES
from ledger.canonical import JSONObject, JSONValue
from ledger.workday import MAX_WORKING_DAYS

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128,
                                      pattern=r"^[A-Za-z0-9][A-Za-z0-9._@:+-]*$")]
def _no_control_characters(value: str) -> str:
    # Names and labels are shown to people and stored in text columns (PostgreSQL refuses
    # NUL there): no control characters at all.
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("may not contain control characters")
    return value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                 AfterValidator(_no_control_characters)]
Label = Annotated[str, StringConstraints(max_length=100), AfterValidator(_no_control_characters)]
Text = Annotated[str, StringConstraints(max_length=4000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Receiver = Annotated[str, StringConstraints(min_length=1, max_length=128,
                                            pattern=r"^(dept:(it|finance|admin)|[A-Za-z0-9][A-Za-z0-9._@:+-]*)$")]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
def _iso_date_only(value: object) -> object:
    # Lax pydantic would read 0 as 1970-01-01: a date is an ISO string (or a date object).
    if isinstance(value, (str, dt.date)):
        return value
    raise ValueError("a date must be an ISO 8601 string, YYYY-MM-DD")


def _bounded_date(value: dt.date) -> dt.date:
    # Every case date falls in years the due-date arithmetic and the working calendar hold
    # (0001-01-01 or 9999-06-30 plus a checklist's offset overflowed into a 500).
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"a date must fall in the years {MIN_YEAR} to {MAX_YEAR}")
    return value


MIN_YEAR, MAX_YEAR = 1900, 2199
Date = Annotated[dt.date, BeforeValidator(_iso_date_only), AfterValidator(_bounded_date)]

# RFC 9562's hyphenated 8-4-4-4-12 form only: no braces, no urn:uuid:, no bare 32 digits, no
# surrounding spaces (lax pydantic takes them all, so one id would have many spellings).
# Upper-case hex is accepted, as RFC 9562 section 4 asks of input, and read as the same UUID;
# the ledger itself always writes lower case.
_CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def canonical_uuid(value: object) -> UUID:
    """The UUID a canonical hyphenated string (or a UUID object) names, else ValueError."""
    if isinstance(value, UUID):
        return value
    if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
        return UUID(value)
    raise ValueError("a UUID must be 36 characters, hyphenated 8-4-4-4-12 hex digits")


Uuid = Annotated[UUID, BeforeValidator(canonical_uuid)]
# JSON integers only: lax pydantic would read "2", 2.0 and true as 2, so a version or a size
# would have several spellings (and a boolean would count as a number).
Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]
Category = Literal[CATEGORIES]  # type: ignore[valid-type]
Priority = Literal[PRIORITIES]  # type: ignore[valid-type]
# checklist keys, receivers' confirmation periods and whom an overdue one goes to
TemplateKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
                                               max_length=64)]
WorkingDays = Annotated[int, Strict(), Field(ge=1, le=MAX_WORKING_DAYS)]
EscalationTarget = Literal["manager", "hr"]
Channel = Literal["email", "sms", "dingtalk", "wecom", "phone", "in_person", "letter"]


class Model(BaseModel):
    """Frozen, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Leaver(Model):
    """The person leaving."""

    id: Id
    name: Name
    department: Name
    position: Name
    role_family: Literal[ROLE_FAMILIES]  # type: ignore[valid-type]


class ApprovalStep(Model):
    """One step of the approval chain, decided by a named approver."""

    name: Name
    approver_id: Id


class Evidence(Model):
    """A digest of an attachment (the blob itself lives in the content-addressed store)."""

    sha256: Sha256
    name: Name
    size: Int = Field(ge=0, le=2**40)
    media_type: Annotated[str, StringConstraints(max_length=200)] = "application/octet-stream"


class Signature(Model):
    """An Ed25519 signature by the receiver's registered key over the confirmation statement."""

    key_id: Id
    statement: Annotated[str, StringConstraints(max_length=65536)]
    signature: Annotated[str, StringConstraints(max_length=200)]


# --- lines of a submission, and how, where and with whom it was handed over
LineId = Annotated[str, StringConstraints(min_length=1, max_length=64,
                                          pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
LineText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                            max_length=1000),
                     AfterValidator(_no_control_characters)]
MAX_LINES = 200


class Line(Model):
    """One line of a submission (a client, a contract, a risk), acknowledged one by one."""

    id: LineId
    text: LineText


class LineRejection(Model):
    """A line of the submission a signer rejects, and why."""

    id: LineId
    reason: LineText


class HandedOverHow(Model):
    """How, where and with whom (000: "时间、地点、参与人"; 004: "现场或线上签署"); optional."""

    mode: Literal[MODES] | None = None  # type: ignore[valid-type]
    location: Name | None = None
    attendees: list[Name] = Field(default_factory=list, max_length=20)


def how_of(model: HandedOverHow) -> JSONObject | None:
    """The ``how`` an event records: only what was given, or None."""
    how: dict[str, JSONValue] = {}
    if model.mode is not None:
        how["mode"] = str(model.mode)
    if model.location is not None:
        how["location"] = model.location
    if model.attendees:
        how["attendees"] = list(model.attendees)
    return how or None


def _unique_line_ids(ids: list[str]) -> None:
    if len(set(ids)) != len(ids):
        raise ValueError("line ids must be unique")
