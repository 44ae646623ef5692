"""The evidence bundle download: parse → export (ledger.bundle.export) → stream the ZIP.

Who may export, and the record of each export, are the exporter's (HR, legal, the leaver for
their own case; to anyone else the case is absent). The bundle is built in full before the
first byte goes out, so a failed export answers with a problem, never a truncated ZIP.
"""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

from aiohttp import web

from api.auth import actor_of, context_of
from api.body import path_uuid, query_flag
from api.endpoint import EndpointTable
from api.runtime_key import RUNTIME
from ledger.bundle.export import ExportedBundle
from ledger.bundle.layout import MEDIA_TYPE
from ledger.service.context import Actor, RequestContext

table = EndpointTable()
log = logging.getLogger("api.bundle")
_ZIP = ((MEDIA_TYPE, {"type": "string", "format": "binary"}),)


@table.route("GET", "/v1/departures/{departure_id}/bundle", "The case's evidence bundle, a "
             "ZIP that verifies offline (HR, legal; the leaver for their own case); each "
             "export is recorded on the case", operation_id="export_evidence_bundle",
             tag="departures", produces=_ZIP, query=(("with_files", "boolean"),))
async def export_evidence_bundle(request: web.Request) -> web.StreamResponse:
    """docs/bundle-format.md; ``with_files=true`` adds the attachments under ``files/``."""
    return await send_bundle(request, actor_of(request), path_uuid(request, "departure_id"),
                             query_flag(request, "with_files"), context_of(request))


def _timestamp_header(bundle: ExportedBundle) -> dict[str, str]:
    """With LEDGER_TSA_URLS: how many RFC 3161 timestamps the bundle's checkpoint has, or
    why it has none (the authorities did not answer in time: the bundle went on without)."""
    outcome = bundle.timestamps
    if outcome is None:
        return {}
    if outcome.stamps:
        return {"X-Ledger-Checkpoint-Timestamps": str(len(outcome.stamps))}
    why = "; ".join(outcome.failures) or "no authority answered"
    clean = "".join(c if " " <= c <= "~" else "?" for c in why)[:300]
    return {"X-Ledger-Checkpoint-Timestamps": f"0 ({clean})"}


async def send_bundle(request: web.Request, actor: Actor, departure_id: UUID,
                      with_files: bool, context: RequestContext | None) -> web.StreamResponse:
    """Export the case's bundle as ``actor`` and stream it (the console's download too)."""
    runtime = request.app[RUNTIME]
    bundle = await runtime.exporter.export(actor, departure_id, with_files=with_files,
                                           context=context)
    try:
        response = web.StreamResponse(status=200, headers={
            "Content-Disposition": f'attachment; filename="{bundle.filename()}"',
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
            "X-Ledger-Manifest-SHA256": bundle.manifest_sha256,
            "X-Ledger-Bundle-Status": bundle.status,
            **_timestamp_header(bundle)})
        response.content_type = MEDIA_TYPE
        response.content_length = bundle.size
        await response.prepare(request)
        sent = 0
        try:
            for chunk in bundle.chunks():
                await response.write(chunk)
                sent += len(chunk)
                await asyncio.sleep(0)  # a large bundle must not hold the loop between writes
            await response.write_eof()
        except ConnectionResetError:  # the client went away: its export stays recorded
            log.info("evidence bundle of %s: the client left after %d of %d bytes",
                     bundle.departure_id, sent, bundle.size)
        return response
    finally:
        bundle.close()
