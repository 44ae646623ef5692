"""Use cases on evidence files: an upload is a recorded fact on its item.

The upload route streams the file into the blob store first (its name is the SHA-256 of what
arrived), then records it here through ``Ledger.execute``, so the upload is chained, logged,
idempotent and checked like every other write. The same rule is asked before streaming
(``queries.authorize_upload``) so that a refused upload stores nothing.
"""

from __future__ import annotations

from ledger.aggregates.departure import Departure
from ledger.aggregates.item import HandoverItem
from ledger.canonical import JSONObject
from ledger.errors import ForbiddenError
from ledger.service import commands as c
from ledger.service.context import Actor
from ledger.service.item_cases import require_open, require_workable
from ledger.service.policy import require_role
from ledger.service.relation import hide_item
from ledger.service.unit_of_work import UnitOfWork

UPLOADERS = ("employee", "hr", "it", "finance", "admin")  # a queue may give an item


def require_uploader(actor: Actor, item: HandoverItem, departure: Departure) -> None:
    """Evidence is uploaded by whoever may submit the item: its giver, or HR for them, and
    only while it is not done (a file uploaded to a confirmed item would be listed "uploaded,
    not submitted" in the handover confirmation, voiding the signatures collected). To
    anyone who may not read the item, it is absent (a refusal reveals nothing)."""
    require_role(actor, UPLOADERS, "upload evidence")
    hide_item(actor, item, departure)
    if item.giver_id not in actor.acting_for() and actor.role != "hr":
        raise ForbiddenError(f"only the giver or HR uploads evidence for item {item.id}")
    item.require_not_done()


async def record_upload(cmd: c.RecordUpload, actor: Actor, uow: UnitOfWork) -> JSONObject:
    """Record who uploaded which file (name, size, media type, SHA-256) to the item."""
    require_role(actor, UPLOADERS, "upload evidence")
    item = await uow.get(HandoverItem, cmd.item_id)
    departure = await uow.get(Departure, item.departure_id, read_only=True)  # a dependency
    require_uploader(actor, item, departure)
    require_open(departure)
    require_workable(departure, item)
    item.record_upload(by=actor.id, sha256=cmd.sha256, size=cmd.size, name=cmd.name,
                       media_type=cmd.media_type)
    upload = item.uploads[cmd.sha256]
    return {"item_id": str(item.id), "sha256": cmd.sha256, "size": cmd.size,
            "name": upload["name"], "media_type": upload["media_type"]}
