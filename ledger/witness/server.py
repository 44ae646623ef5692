"""The witness HTTP service (C2SP tlog-witness): ``POST /add-checkpoint`` and ``GET /key``.

A thin adapter: parse (ledger.witness.protocol), judge and record atomically
(ledger.witness.state), cosign (ledger.witness.cosignature) at the current time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence

from aiohttp import web

from ledger.errors import InvalidInputError
from ledger.log_format import fields
from ledger.tlog.checkpoint import format_checkpoint
from ledger.tlog.note import Verifier
from ledger.witness.cosignature import WitnessSigner
from ledger.witness.protocol import Refusal, parse_submission
from ledger.witness.state import WitnessState

log = logging.getLogger("ledger.witness")
MAX_BODY = 64 * 1024  # a checkpoint, a few signatures and at most 63 proof lines
STATE = web.AppKey("witness_state", WitnessState)


def trusted_logs(vkeys: Sequence[Verifier]) -> dict[str, list[Verifier]]:
    """Trusted log keys by origin (a log signs under a key named after its origin)."""
    trusted: dict[str, list[Verifier]] = {}
    for verifier in vkeys:
        trusted.setdefault(verifier.name, []).append(verifier)
    return trusted


def build_witness_app(signer: WitnessSigner, state: WitnessState,
                      trusted: Mapping[str, Sequence[Verifier]],
                      clock: Callable[[], float] = time.time) -> web.Application:
    """The witness application; ``trusted`` maps each log origin to its verifier keys."""

    async def add_checkpoint(request: web.Request) -> web.Response:
        try:
            submission = parse_submission(await request.read())
        except InvalidInputError as e:
            return web.Response(status=400, text=f"{e}\n")
        outcome = await state.add(submission, trusted)
        if isinstance(outcome, Refusal):
            log.info("refused checkpoint", extra=fields(
                origin=submission.origin_label, status=outcome.status, reason=outcome.text.strip()))
            return web.Response(status=outcome.status, body=outcome.text.encode(),
                                content_type=outcome.content_type)
        line = signer.cosign(format_checkpoint(outcome), int(clock()))
        log.info("cosigned checkpoint", extra=fields(origin=outcome.origin, size=outcome.size))
        return web.Response(text=line, content_type="text/plain")

    async def key(request: web.Request) -> web.Response:
        return web.Response(text=signer.key.vkey + "\n", content_type="text/plain")

    app = web.Application(client_max_size=MAX_BODY)
    app[STATE] = state
    app.router.add_post("/add-checkpoint", add_checkpoint)
    app.router.add_get("/key", key)
    return app
