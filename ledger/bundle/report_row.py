"""One entry as a line of the report: when (UTC and the organisation's zone), what (the
timeline's Chinese and English phrase), who, from where, and every payload field, labelled.

Pure. Every field of the payload is printed (a field without a label by its own name), so the
report never hides what an entry says; files, Ed25519 signatures and signed statements get
their own blocks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ledger.bundle.layout import sha256_hex
from ledger.bundle.report_client import Client, Origin, origin_of
from ledger.bundle.report_labels import (
    CODES,
    CONFIRMED_WITHOUT_KEY,
    FIELD_MEMBER_LABELS,
    HOW_PARTS,
    LABELS,
    MEMBER_LABELS,
    OWN_SIGNATURE,
    VALUE_WORDS,
    code_words,
    confirmed_without_key,
    receiver_label,
)
from ledger.canonical import JSONObject, JSONValue, encode_canonical
from ledger.entry import Entry, format_time
from ledger.service.timeline import describe

# Payload fields shown by a block of their own rather than as a labelled fact; the case's own
# id (every item and dispute names it; ``ledger verify-bundle`` checks it) is not repeated.
_BLOCK_FIELDS = frozenset({"evidence", "signature", "departure_id"})
# "No" is said only where it is news; elsewhere a false flag, like an empty field, is left out.
_SAID_WHEN_FALSE = frozenset({"on_behalf", "severance_releasable", "with_files", "mandatory"})
_UPLOAD_EVENTS = frozenset({"ItemEvidenceUploaded", "DisputeEvidenceUploaded"})
_FILE_FIELDS = ("name", "size", "sha256", "media_type")
# What a row says of how a recorded confirmation or sign-off was authenticated: an entry whose
# payload has a ``signature`` field either carries the person's own Ed25519 signature or null.
OWN_KEY = (OWN_SIGNATURE[0], "signed with their own Ed25519 key")
TOKEN_ONLY = CONFIRMED_WITHOUT_KEY["bearer"]
_FOUR_DIGITS = 1000  # strftime's %Y does not pad smaller years; isoformat does
_MINUTE = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Moment:
    """A time as UTC (exact, as the entry records it) and in the organisation's zone."""

    utc: str
    local: str


@dataclass(frozen=True)
class FileRef:
    """One file as an entry names it."""

    name: str
    size: str
    sha256: str
    media_type: str
    named_by: str = ""
    """The bundle path of the upload entry the name and size were taken from, when the entry
    citing the file names only its digest."""


@dataclass(frozen=True)
class Signed:
    """An Ed25519 signature recorded with an event: by whose key, over which statement."""

    key_id: str
    algorithm: str
    public_key: str
    statement: str
    statement_sha256: str
    signature: str


@dataclass(frozen=True)
class Fact:
    """One labelled payload field."""

    zh: str
    en: str
    value: str
    lines: tuple[tuple[str, str], ...] = ()
    """For a list of lines (``lines``, ``rejected_lines``: objects with an ``id``), each
    line's id and text, printed as a numbered list rather than as ``value``."""


@dataclass(frozen=True)
class Row:
    """One entry, ready to print."""

    path: str
    sha256: str
    type: str
    at: Moment
    zh: str
    en: str
    actor: str
    facts: tuple[Fact, ...]
    files: tuple[FileRef, ...]
    signed: Signed | None
    origin: Origin | None
    how_signed: tuple[str, str] | None = None
    """``OWN_KEY``, or how it was confirmed without a key (``TOKEN_ONLY`` for a bearer token),
    for an entry with a ``signature`` field; else None."""


class Clock:
    """Formats entry times in UTC and in one IANA zone; knows the case's clients and the
    bundle's uploaded files (by SHA-256: the upload entry's path and record)."""

    def __init__(self, time_zone: str, clients: Mapping[str, Client],
                 uploads: Mapping[str, tuple[str, JSONObject]] | None = None) -> None:
        self.zone = ZoneInfo(time_zone)
        self.name = time_zone
        self.clients = clients
        self.uploads: Mapping[str, tuple[str, JSONObject]] = uploads or {}

    def moment(self, when: dt.datetime) -> Moment:
        """``when`` (aware) as a Moment; the local part to the second, with its offset."""
        local = when.astimezone(self.zone)
        offset = local.utcoffset()
        if when.year >= _FOUR_DIGITS and local.year >= _FOUR_DIGITS and offset is not None \
                and not offset % _MINUTE:
            # isoformat is several times faster than strftime and, for four-digit years and
            # whole-minute offsets, prints the same digits; a report prints ~1,000 moments.
            utc = when.astimezone(dt.UTC).isoformat(" ", "microseconds")
            here = local.isoformat(" ", "seconds")
            return Moment(utc=f"{utc[:-6]}Z", local=f"{here[:19]} {here[19:]}")
        text = local.strftime("%z")
        return Moment(utc=format_time(when).replace("T", " "),
                      local=f"{local:%Y-%m-%d %H:%M:%S} {text[:3]}:{text[3:]}")


def text_of(value: JSONValue) -> str:
    """A payload value as one deterministic line: words for booleans and null, canonical
    JSON for lists and objects."""
    if isinstance(value, bool) or value is None:
        return VALUE_WORDS[value]
    if isinstance(value, str):
        return value or "-"
    if isinstance(value, int):
        return str(value)
    return encode_canonical(value).decode("utf-8")


def lines_of(value: JSONValue) -> tuple[tuple[str, str], ...]:
    """``(id, text)`` of each line of a list of lines (objects, each with an ``id``): its
    ``text``, else its ``reason``, else its other fields as canonical JSON; empty for any
    other value."""
    if not isinstance(value, list) or not value:
        return ()
    lines = [v for v in value if isinstance(v, dict) and "id" in v]
    if len(lines) != len(value):
        return ()
    out = []
    for line in lines:
        text = line.get("text", line.get("reason"))
        if not isinstance(text, str):
            text = text_of({k: v for k, v in line.items() if k != "id"})
        out.append((text_of(line["id"]), text or "-"))
    return tuple(out)


def how_text(value: JSONValue) -> str:
    """``how`` an item was handed over (``mode``, ``location``, ``attendees``) as one line of
    labelled parts, the mode in words; another value as ``text_of`` prints it."""
    if not isinstance(value, dict):
        return text_of(value)
    parts = []
    for key in sorted(value):
        part = value[key]
        zh, en = HOW_PARTS.get(key, (key, key))
        if key == "mode" and isinstance(part, str):
            shown = code_words("mode", part)
        elif isinstance(part, list) and all(isinstance(p, str) for p in part):
            shown = ", ".join(str(p) for p in part) or "-"
        else:
            shown = text_of(part)
        parts.append(f"{zh} {en}: {shown}")
    return "; ".join(parts) or "-"


def members_text(field: str, value: JSONObject) -> str:
    """An object of a known field as its labelled members in key order (``姓名 name: 李文,
    职位 position: 客户经理``): codes in words, a nested value as ``text_of`` prints it."""
    parts = []
    for key in sorted(value):
        zh, en = (FIELD_MEMBER_LABELS.get(field, {}).get(key) or MEMBER_LABELS.get(key)
                  or LABELS.get(key, (key, key)))
        part = value[key]
        shown = code_words(key, part) if key in CODES and isinstance(part, str) else (
            text_of(part))
        parts.append(f"{zh} {en}: {shown}" if zh != en else f"{en}: {shown}")
    return ", ".join(parts) or "-"


def value_text(key: str, value: JSONValue) -> str:
    """A payload field's value as printed: codes in words, ``how`` by its parts, a list of
    strings (ids) comma-separated, a known field's object (the ``leaver``) or list of objects
    (the ``approval_chain``'s steps, numbered from 1) by their labelled members, otherwise as
    ``text_of`` (a field the report does not know stays canonical JSON)."""
    if key == "how":
        return how_text(value)
    if key in CODES and isinstance(value, str):
        return code_words(key, value)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return ", ".join(str(v) for v in value)
    if key in LABELS and isinstance(value, dict):
        return members_text(key, value)
    if key in LABELS and isinstance(value, list) and value and all(
            isinstance(v, dict) for v in value):
        return "; ".join(f"{n}. {members_text(key, v)}" for n, v in enumerate(value, 1)
                         if isinstance(v, dict))
    return text_of(value)


def file_of(data: JSONObject) -> FileRef:
    """A file record (``name``, ``size``, ``sha256``, ``media_type``) as printed."""
    size = data.get("size")
    return FileRef(name=str(data.get("name", "-")),
                   size=f"{size:,} B" if isinstance(size, int) else "-",
                   sha256=str(data.get("sha256", "-")),
                   media_type=str(data.get("media_type", "-")))


def is_upload(event_type: str) -> bool:
    """An entry recording one uploaded file (``ItemEvidenceUploaded``,
    ``DisputeEvidenceUploaded``): its payload names the file, its size and SHA-256."""
    return event_type.endswith("Uploaded")


def uploads_of(entries: Iterable[tuple[str, Entry]]) -> dict[str, tuple[str, JSONObject]]:
    """The bundle's upload records by SHA-256, each with its entry's path; of two uploads of
    the same bytes, the first by path."""
    found: dict[str, tuple[str, JSONObject]] = {}
    for path, entry in sorted(entries, key=lambda pair: pair[0]):
        digest = entry.payload.get("sha256")
        if is_upload(entry.event_type) and isinstance(digest, str):
            found.setdefault(digest, (path, entry.payload))
    return found


def cited_file_of(data: JSONObject, uploads: Mapping[str, tuple[str, JSONObject]]) -> FileRef:
    """A file an entry cites (often by digest alone), its name, size and media type taken
    from the bundle's upload of the same SHA-256 where the entry does not give them."""
    digest = data.get("sha256")
    found = uploads.get(digest) if isinstance(digest, str) else None
    if found is None or all(data.get(k) not in (None, "") for k in _FILE_FIELDS):
        return file_of(data)
    path, upload = found
    merged = {k: data[k] if data.get(k) not in (None, "") else upload.get(k)
              for k in _FILE_FIELDS}
    return dataclasses.replace(file_of({k: v for k, v in merged.items() if v is not None}),
                               named_by=path)


def signed_of(value: JSONValue) -> Signed | None:
    """The Ed25519 signature block of a payload, if it holds one."""
    if not isinstance(value, dict):
        return None
    statement = str(value.get("statement", ""))
    return Signed(key_id=str(value.get("key_id", "-")),
                  algorithm=str(value.get("algorithm", "-")),
                  public_key=str(value.get("public_key", "-")), statement=statement,
                  statement_sha256=sha256_hex(statement.encode("utf-8")),
                  signature=str(value.get("signature", "-")))


def facts_of(entry: Entry) -> tuple[Fact, ...]:
    """Every payload field not shown as a block, labelled, in key order."""
    facts = []
    for key in sorted(entry.payload):
        value = entry.payload[key]
        if key in _BLOCK_FIELDS or (entry.event_type in _UPLOAD_EVENTS and key in _FILE_FIELDS):
            continue
        if key == "by" and value == entry.actor.get("id"):
            continue
        if value in (None, "", [], {}) or (value is False and key not in _SAID_WHEN_FALSE):
            continue
        if key in ("receiver", "previous_receiver"):
            zh, en = receiver_label(value, previous=key == "previous_receiver")
        else:
            zh, en = LABELS.get(key, (key, key))
        lines = lines_of(value)
        facts.append(Fact(zh, en, "" if lines else value_text(key, value), lines))
    return tuple(facts)


def actor_of(entry: Entry) -> str:
    """``id (role, name)`` of who recorded the entry."""
    who = str(entry.actor.get("id", "-"))
    extra = [str(entry.actor[k]) for k in ("role", "name") if entry.actor.get(k)]
    return f"{who} ({', '.join(extra)})" if extra else who


def row_of(path: str, entry: Entry, item_title: str | None, clock: Clock) -> Row:
    """The printed form of ``entry`` stored at ``path``."""
    line = describe(entry, item_title)
    files: list[FileRef] = []
    if entry.event_type in _UPLOAD_EVENTS:
        files.append(file_of(entry.payload))
    evidence = entry.payload.get("evidence")
    if isinstance(evidence, list):
        files += [cited_file_of(e, clock.uploads) for e in evidence if isinstance(e, dict)]
    signed = signed_of(entry.payload.get("signature"))
    origin = origin_of(entry.context, clock.clients)
    return Row(path=path, sha256=entry.event_hash.hex(), type=entry.event_type,
               at=clock.moment(entry.recorded_at), zh=str(line["zh"]), en=str(line["en"]),
               actor=actor_of(entry), facts=facts_of(entry), files=tuple(files),
               signed=signed, origin=origin,
               how_signed=how_signed(entry, signed))


def how_signed(entry: Entry, signed: Signed | None) -> tuple[str, str] | None:
    """How an entry with a ``signature`` field was authenticated: the person's own key, or
    (signature null) only the request's authentication (``context.auth``); None for other
    entries."""
    if "signature" not in entry.payload:
        return None
    if signed is not None:
        return OWN_KEY
    return confirmed_without_key(str(entry.context.get("auth") or ""))
