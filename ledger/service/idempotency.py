"""Idempotency keys: scoped to their principal, one table for the commands and for the API's
other POSTs (principals, tokens, keys), whose first response ``StoredResponses`` keeps."""

from __future__ import annotations

from ledger.actor import Actor
from ledger.errors import IdempotencyKeyReusedError, InvalidInputError
from ledger.store.port import EventStore, IdempotencyRecord, KeyTakenError

MAX_IDEMPOTENCY_KEY = 200


def scoped_idempotency_key(actor: Actor, idempotency_key: str) -> str:
    """The stored key: a client's Idempotency-Key, checked, scoped to its principal (commands
    and the API's other POSTs share one table)."""
    if not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        raise InvalidInputError("idempotency key must be 1-200 characters",
                                field="Idempotency-Key")
    if not idempotency_key.isprintable() or not idempotency_key.isascii():
        # The IETF Idempotency-Key header is an RFC 8941 sf-string: printable ASCII. Undecodable
        # header bytes arrive as lone surrogates, which no store could hold anyway.
        raise InvalidInputError("idempotency key must be printable ASCII",
                                field="Idempotency-Key")
    return f"{actor.id}\x1f{idempotency_key}"


def check_same_request(record: IdempotencyRecord, request_hash: bytes) -> None:
    """A stored answer replays only for the request it answered."""
    if record.request_hash != request_hash:
        raise IdempotencyKeyReusedError(
            "this idempotency key was already used with a different request"
        )


class StoredResponses:
    """The first response of a keyed request that is not a ledger command, stored in the
    idempotency table the commands use (in a transaction of its own, with no events)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def find(self, actor: Actor, idempotency_key: str,
                   request_hash: bytes) -> bytes | None:
        """The response stored for ``actor``'s key; None when there is none.
        IdempotencyKeyReusedError when the key answered another request."""
        found = await self.store.find_idempotency(scoped_idempotency_key(actor, idempotency_key))
        if found is None:
            return None
        check_same_request(found, request_hash)
        return found.response

    async def record(self, actor: Actor, idempotency_key: str, request_hash: bytes,
                     response: bytes) -> bytes | None:
        """Store ``response`` as the first one for the key; when a concurrent request stored
        its own first, return that one instead (None: ours was stored)."""
        record_key = scoped_idempotency_key(actor, idempotency_key)
        try:
            await self.store.append([], IdempotencyRecord(record_key, request_hash, response))
        except KeyTakenError:
            return await self.find(actor, idempotency_key, request_hash)
        return None
