"""Read-your-writes over a read replica (docs/scaling.md, "Read replica").

With LEDGER_READ_DATABASE_URL set, every request runs in a read scope
(``ledger.store.read_scope``): a GET's reads may go to the replica, any other request's go to
the primary. A write that succeeds answers with ``Ledger-Read-After: <WAL position>``; a GET
that sends it back is served by the replica only once the replica has replayed that far
(else by the primary), so its client never reads a state older than its own write. Without
a replica the middleware does nothing and no header is sent.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from api.runtime_key import RUNTIME
from ledger.errors import InvalidInputError, LedgerError
from ledger.store.read_scope import ReadScope, WritePositions, format_lsn, parse_lsn, reading

HEADER = "Ledger-Read-After"
log = logging.getLogger("api.read_after")
_READS = ("GET", "HEAD")
_MAX_TOKEN = 17  # "FFFFFFFF/FFFFFFFF"


def _after(request: web.Request) -> int | None:
    text = request.headers.get(HEADER)
    if text is None:
        return None
    if len(text) > _MAX_TOKEN:
        raise InvalidInputError(f"{HEADER} is a WAL position such as 0/3000148")
    return parse_lsn(text)


async def _hand_token(replica: WritePositions, response: web.StreamResponse) -> None:
    if response.prepared:
        return
    try:
        position = await replica.write_position()
    except LedgerError:  # the write stands: its answer goes out, without a token
        log.warning("no %s for a write: the primary did not say its WAL position", HEADER)
        return
    response.headers[HEADER] = format_lsn(position)


@web.middleware
async def read_after_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Open the request's read scope; hand a successful write its ``Ledger-Read-After``."""
    replica = request.config_dict[RUNTIME].replica
    if replica is None:
        return await handler(request)
    reads = request.method in _READS
    with reading(ReadScope(replica_allowed=reads, after=_after(request) if reads else None)):
        try:
            response = await handler(request)
        except web.HTTPException as e:  # a redirect after a write is raised, not returned
            if not reads and e.status < 400:
                await _hand_token(replica, e)
            raise
    if not reads and response.status < 400:
        await _hand_token(replica, response)
    return response
