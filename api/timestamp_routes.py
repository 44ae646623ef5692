"""RFC 3161 timestamps over the log's checkpoints (ledger.timestamp), public like the log: a
token proves the log had signed that checkpoint no later than the token's time, and carries
no personal data. docs/timestamps.md describes the format and how to check a token.
"""

from __future__ import annotations

import base64

from aiohttp import web

from api.body import natural
from api.endpoint import EndpointTable
from api.runtime_key import RUNTIME
from api.views import View
from ledger.errors import NotFoundError
from ledger.timestamp.token import token_of

table = EndpointTable()
_MAX_SIZE = 2**63 - 1


class CheckpointTimestamp(View):
    """One authority's token over the checkpoint's signed note (SHA-256 message imprint):
    the DER TimeStampToken (``token``, the ``.tst`` of ASiC) and the whole DER TimeStampResp
    it came in (``response``), both base64; ``gen_time`` is the token's own time."""

    tsa_url: str
    gen_time: str
    token: str
    response: str


class CheckpointTimestamps(View):
    """The signed checkpoint of ``size`` (its note, byte for byte as ``/log/checkpoint``
    served it) and every timestamp the log holds over it, oldest first."""

    size: int
    checkpoint: str
    timestamps: list[CheckpointTimestamp]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@table.route("GET", "/log/checkpoint/{size}/timestamps", "RFC 3161 timestamps over the "
             "signed checkpoint of this tree size (JSON; empty while none was obtained)",
             response=CheckpointTimestamps, public=True,
             operation_id="get_checkpoint_timestamps")
async def checkpoint_timestamps(request: web.Request) -> web.Response:
    """The checkpoint's note and its tokens; 404 when the log signed no checkpoint of that
    size."""
    runtime = request.app[RUNTIME]
    text = request.match_info["size"]
    size = natural(text, "size", _MAX_SIZE, "size must be a tree size (a decimal integer)")
    found = await runtime.log.read_checkpoint_block(size - 1, 1)  # the first of size >= size
    if not found or found[0].size != size:
        raise NotFoundError(f"the log signed no checkpoint of size {size}")
    stamps = await runtime.timestamps.for_size(size) if runtime.timestamps else []
    body = CheckpointTimestamps(size=size, checkpoint=found[0].note.decode(), timestamps=[
        CheckpointTimestamp(tsa_url=s.tsa_url,
                            gen_time=s.gen_time.isoformat().replace("+00:00", "Z"),
                            token=_b64(token_of(s.response)), response=_b64(s.response))
        for s in stamps])
    return web.json_response(body.model_dump(), headers={"Cache-Control": "no-cache"})


__all__ = ["table"]
