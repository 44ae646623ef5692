"""What a bundle's report is rendered from: the entries, the checkpoint, three facts and the
checkpoint's timestamps and witness cosignatures.

Pure data. The exporter builds it from the files it is about to write; ``ledger verify-bundle``
builds it again from the files it read, so both render the same ``report.html`` bytes
(docs/bundle-format.md, "Report source").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReportSource:
    """The inputs of ``report.html`` and ``report.pdf``.

    ``entries`` maps each ``entries/...`` path (``layout.entry_path``) to the entry's exact stored
    bytes; earlier exports of the case are among them as ``EvidenceExported`` entries.
    ``report_source_sha256`` is ``layout.report_source_sha256`` over ``checkpoint`` and
    ``entries``.
    """

    departure_id: str
    generated_at: str
    """RFC 3339 UTC with microseconds and ``Z``, as in the manifest."""
    status: str
    """``final`` or ``interim``."""
    time_zone: str
    """The organisation's IANA zone, e.g. ``Asia/Shanghai``."""
    checkpoint: bytes
    """The signed checkpoint note, verbatim, with every signature."""
    keys: list[str]
    """The log's verifier key strings (information only; the reader supplies the trust anchor)."""
    entries: dict[str, bytes]
    report_source_sha256: str
    timestamps: tuple[tuple[str, str], ...] = ()
    """(gen_time, tsa_url) of each RFC 3161 token over the checkpoint, as the manifest's
    ``timestamps`` lists them (format 1.2; signed with the manifest)."""
    cosignatures: tuple[str, ...] = ()
    """The witness cosignature lines on the checkpoint, without their LF, as the bundle's
    ``META-INF/cosignatures`` carries them (format 1.2; listed in the manifest); the report
    states who cosigned and when (ledger.bundle.report_cosign)."""
