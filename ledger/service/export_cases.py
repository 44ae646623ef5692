"""Who may export a case's evidence bundle, and the record that they did (issue 11).

HR and legal export any case; the leaver exports their own. Nobody else does, not even those
who read the case (its manager, an item's receiver): to them, as to a stranger, the bundle is
absent, word for word as a case that does not exist, so a refusal never confirms an id.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ledger.aggregates.departure import Departure
from ledger.canonical import JSONObject
from ledger.service.command_types import Bool, Int, Model, Sha256, Uuid
from ledger.service.context import Actor
from ledger.service.relation import absent, may_read_departure
from ledger.service.unit_of_work import UnitOfWork

EXPORTERS = ("hr", "legal")


def may_export(actor: Actor, departure: Departure) -> bool:
    """HR and legal (where they may read the case: legal never reads a request HR has not
    accepted), and the leaver for their own case."""
    if actor.id == departure.leaver_id:
        return True
    return actor.role in EXPORTERS and may_read_departure(actor, departure)


def require_exporter(actor: Actor, departure: Departure) -> None:
    """Refuse, as if absent, an export by anyone ``may_export`` does not name."""
    if not may_export(actor, departure):
        raise absent(departure.id)


class CheckpointRecord(Model):
    """The checkpoint a bundle's proofs are against, as its manifest names it."""

    origin: str = Field(min_length=1, max_length=300)
    size: Int = Field(ge=0)
    root: str = Field(min_length=1, max_length=100)


class RecordEvidenceExport(Model):
    """Record an export of a case's evidence bundle. Only the exporter runs it, once it has
    built the bundle: not a ``Command`` (nobody posts it), or anyone could record a bundle
    that was never made."""

    type: Literal["record_evidence_export"] = "record_evidence_export"
    departure_id: Uuid
    bundle_format: Int = Field(ge=1)
    status: Literal["final", "interim"]
    checkpoint: CheckpointRecord
    manifest_sha256: Sha256
    with_files: Bool


async def record_evidence_export(cmd: RecordEvidenceExport, actor: Actor,
                                 uow: UnitOfWork) -> JSONObject:
    """``DepartureEvidenceExported`` on the case, in whatever state it is."""
    departure = await uow.get(Departure, str(cmd.departure_id))
    require_exporter(actor, departure)
    departure.record_export(by=actor.id, bundle_format=cmd.bundle_format, status=cmd.status,
                            checkpoint=dict(cmd.checkpoint.model_dump()),
                            manifest_sha256=cmd.manifest_sha256, with_files=cmd.with_files)
    return {"departure_id": str(departure.id), "version": departure.version,
            "manifest_sha256": cmd.manifest_sha256}

