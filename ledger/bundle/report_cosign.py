"""What ``report.html`` states of the checkpoint's witness cosignatures (``META-INF/cosignatures``,
format 1.2): which witnesses cosigned it and when, read from the lines themselves. Pure.

The report has no witness keys, so it states what the lines say and does not check them: the
verifiers given ``--witness`` keys do (docs/bundle-format.md, "Witness cosignatures").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.bundle.report_row import Clock, Moment
from ledger.errors import VerificationError
from ledger.tlog.note import SIGNATURE_LINE_PREFIX, parse_signature_line

_RAW_SIZE = 8 + 64  # after the key ID: the u64 time and the Ed25519 signature


@dataclass(frozen=True)
class Cosigner:
    """One cosignature line: the witness's name, its key ID (8 hex digits) and the time it
    cosigned; ``at`` None when the line cannot be read (``name`` is then its beginning)."""

    name: str
    key_id: str
    at: Moment | None


def cosignature_lines(data: bytes) -> tuple[str, ...]:
    """The lines of a ``META-INF/cosignatures`` member, without their LF (empty ones dropped):
    what the report is rendered from (``ReportSource.cosignatures``)."""
    return tuple(line for line in data.decode("utf-8", "replace").split("\n") if line)


def cosignature_file(lines: Sequence[str]) -> bytes:
    """The ``META-INF/cosignatures`` member of ``lines``, each followed by a LF."""
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


def cosigners(lines: Sequence[str], time_zone: str) -> tuple[Cosigner, ...]:
    """Each line's witness and time, in the lines' order; times in UTC and in ``time_zone``."""
    clock = Clock(time_zone, {})
    return tuple(_cosigner(line, clock) for line in lines)


def _cosigner(line: str, clock: Clock) -> Cosigner:
    try:
        signature, raw = parse_signature_line(line)
    except VerificationError:
        return Cosigner(line.removeprefix(SIGNATURE_LINE_PREFIX)[:60], "", None)
    key_id = f"{signature.key_id:08x}"
    if len(raw) != _RAW_SIZE:
        return Cosigner(signature.name, key_id, None)
    try:
        when = dt.datetime.fromtimestamp(int.from_bytes(raw[:8], "big"), dt.UTC)
    except (OverflowError, ValueError, OSError):
        return Cosigner(signature.name, key_id, None)
    local = clock.moment(when).local
    return Cosigner(signature.name, key_id, Moment(f"{when:%Y-%m-%d %H:%M:%S}Z", local))
