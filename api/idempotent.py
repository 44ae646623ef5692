"""Idempotency-Key for the POSTs that are not ledger commands (principals, tokens, keys).

The first response is stored (secrets redacted: a token is shown once, never replayed) in the
same idempotency table the commands use; a replay returns it, the same key with another
request is a 422.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from aiohttp import web

from api.auth import actor_of
from api.endpoint import Handler
from api.runtime_key import RUNTIME

IDEMPOTENCY_HEADER = "Idempotency-Key"


def idempotent(redact: tuple[str, ...] = ()) -> Callable[[Handler], Handler]:
    """Make a JSON-answering POST handler honour Idempotency-Key."""
    def wrap(handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            key = request.headers.get(IDEMPOTENCY_HEADER)
            if key is None:
                return await handler(request)
            actor = actor_of(request)
            responses = request.app[RUNTIME].ledger.responses
            request_hash = hashlib.sha256(
                f"{request.method} {request.path}\n".encode() + await request.read()).digest()
            found = await responses.find(actor, key, request_hash)
            if found is not None:
                return _replay(found)
            response = await handler(request)
            if isinstance(response, web.Response) and isinstance(response.body, bytes):
                body = json.loads(response.body)
                body.update({field: None for field in redact if field in body})
                stored = json.dumps({"status": response.status, "body": body}).encode()
                first = await responses.record(actor, key, request_hash, stored)
                if first is not None:
                    return _replay(first)
            return response
        wrapped.__name__ = handler.__name__
        return wrapped
    return wrap


def _replay(found: bytes) -> web.Response:
    stored = json.loads(found)
    return web.Response(text=json.dumps(stored["body"], ensure_ascii=False),
                        status=int(stored["status"]), content_type="application/json",
                        headers={"Idempotent-Replayed": "true"})
