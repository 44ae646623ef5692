"""Public transparency-log endpoints (C2SP tlog-tiles, checkpoints, proofs).

These serve event hashes only, no personal data, and are deliberately unauthenticated: an
auditor must be able to verify the log without an account with its operator.
"""

from __future__ import annotations

import base64
import re

from aiohttp import web
from pydantic import ConfigDict, Field

from api.body import natural
from api.endpoint import EndpointTable
from api.runtime_key import RUNTIME
from api.views import View
from ledger.bundle.export import verifier_source
from ledger.errors import InvalidInputError, NotFoundError
from ledger.tlog.tile import parse_tile_path
from ledger.transparency.reader import LogReader
from ledger.witness.cosigned import cosigned

READER = web.AppKey("log_reader", LogReader)
VERIFIER_KEYS = web.AppKey("verifier_keys", list[str])
_HEX_HASH = re.compile(r"[0-9a-f]{64}")
table = EndpointTable()
_TEXT = (("text/plain", {"type": "string"}),)
_TLOG_PROOF = (("text/x.tlog.proof", {"type": "string"}),)
_BINARY = (("application/octet-stream", {"type": "string", "format": "binary"}),)
_PYTHON = (("text/x-python", {"type": "string"}),)


class InclusionProof(View):
    """An event hash's inclusion proof: its ``index`` in the tree of ``size`` leaves with
    ``root``, the ``proof`` hashes (base64) and the signed checkpoint it was taken against."""

    index: int
    size: int
    root: str
    event_hash: str
    proof: list[str]
    checkpoint: str | None


class ConsistencyProof(View):
    """That the tree of ``from`` leaves is a prefix of the tree of ``to`` leaves (base64)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)
    from_: int = Field(alias="from")
    to: int
    root1: str
    root2: str
    proof: list[str]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _int_param(request: web.Request, name: str) -> int | None:
    text = request.query.get(name)
    if text is None:
        return None
    return natural(text, name, 10**18 - 1, f"{name} must be a non-negative integer")


@table.route("GET", "/log/checkpoint", "The latest signed checkpoint (C2SP signed note)",
             public=True, operation_id="get_checkpoint", produces=_TEXT)
async def checkpoint(request: web.Request) -> web.Response:
    """The latest signed checkpoint note, with the witness cosignatures it has so far."""
    latest = await request.app[READER].latest()
    note = await cosigned(latest, request.app[RUNTIME].cosignatures)
    return web.Response(body=note, content_type="text/plain", charset="utf-8",
                        headers={"Cache-Control": "no-cache, max-age=2"})


@table.route("GET", "/log/checkpoint/{size}", "The signed checkpoint of one tree size, with "
             "the witness cosignatures it has so far (C2SP signed note)", public=True,
             operation_id="get_checkpoint_of_size", produces=_TEXT)
async def checkpoint_of_size(request: web.Request) -> web.Response:
    """An earlier (or the latest) signed checkpoint note; 404 for a size never signed."""
    size = natural(request.match_info["size"], "size", 10**18 - 1,
                   "size must be a non-negative integer")
    found = await request.app[READER].store.read_checkpoint_block(size - 1, 1)
    if not found or found[0].size != size:
        raise NotFoundError(f"no checkpoint of size {size} was signed")
    note = await cosigned(found[0], request.app[RUNTIME].cosignatures)
    return web.Response(body=note, content_type="text/plain", charset="utf-8",
                        headers={"Cache-Control": "no-cache, max-age=60"})


@table.route("GET", "/log/key", "The log's verifier key(s), one per line", public=True,
             operation_id="get_verifier_keys", produces=_TEXT)
async def verifier_key(request: web.Request) -> web.Response:
    """The verifier key string(s), one per line."""
    keys = request.app[VERIFIER_KEYS]
    return web.Response(text="".join(k + "\n" for k in keys), content_type="text/plain",
                        charset="utf-8", headers={"Cache-Control": "max-age=300"})


@table.route("GET", "/log/verify.py", "The evidence bundle verifier (Python 3.11 standard "
             "library), as every bundle carries it: fetch it from here to check a bundle with "
             "a verifier that did not travel inside it", public=True,
             operation_id="get_bundle_verifier", produces=_PYTHON)
async def bundle_verifier(request: web.Request) -> web.Response:
    """``verify.py``, byte for byte the file bundles carry."""
    return web.Response(body=verifier_source(), content_type="text/x-python", charset="utf-8",
                        headers={"Cache-Control": "max-age=300",
                                 "Content-Disposition": 'inline; filename="verify.py"'})


@table.route("GET", r"/log/tile/{path:.+}", "A hash tile or an entry bundle (C2SP "
             "tlog-tiles)", public=True, operation_id="get_tile", produces=_BINARY)
async def tile(request: web.Request) -> web.Response:
    """A hash tile or an entry bundle; immutable once served, so cached for long."""
    parsed = parse_tile_path("tile/" + request.match_info["path"])
    data = await request.app[READER].tile(parsed)
    return web.Response(body=data, content_type="application/octet-stream",
                        headers={"Cache-Control": "public, max-age=31536000, immutable"})


def _event_hash(request: web.Request) -> bytes:
    text = request.query.get("hash", "")
    if not _HEX_HASH.fullmatch(text):
        raise InvalidInputError("hash must be 64 lowercase hex digits", field="hash")
    return bytes.fromhex(text)


@table.route("GET", "/v1/log/proof/inclusion", "Inclusion proof of one event hash (JSON, or "
             "a C2SP tlog-proof with format=tlog-proof or Accept: text/x.tlog.proof)",
             response=InclusionProof, public=True, operation_id="get_inclusion_proof",
             produces=_TLOG_PROOF, query=(("hash", "sha256"), ("size", "size"),
                                          ("format", "proof_format")),
             required_query=("hash",))
async def inclusion(request: web.Request) -> web.Response:
    """Inclusion proof of one event hash, as JSON or as a C2SP tlog-proof."""
    reader = request.app[READER]
    event_hash = _event_hash(request)
    wants_text = (request.query.get("format") == "tlog-proof"
                  or "text/x.tlog.proof" in request.headers.get("Accept", ""))
    if wants_text:
        return web.Response(body=await reader.tlog_proof(event_hash,
                                                         request.app[RUNTIME].cosignatures),
                            content_type="text/x.tlog.proof", charset="utf-8")
    proof = await reader.inclusion(event_hash, _int_param(request, "size"))
    return web.json_response({
        "index": proof.index, "size": proof.size, "root": _b64(proof.root),
        "event_hash": event_hash.hex(), "proof": [_b64(h) for h in proof.proof],
        "checkpoint": proof.checkpoint.note.decode() if proof.checkpoint else None,
    })


@table.route("GET", "/v1/log/proof/consistency", "Consistency proof between two tree sizes",
             response=ConsistencyProof, public=True, operation_id="get_consistency_proof",
             query=(("from", "size"), ("to", "size")), required_query=("from", "to"))
async def consistency(request: web.Request) -> web.Response:
    """Consistency proof between two tree sizes."""
    size1, size2 = _int_param(request, "from"), _int_param(request, "to")
    if size1 is None or size2 is None:
        raise InvalidInputError("from and to are required", field="from")
    proof = await request.app[READER].consistency(size1, size2)
    return web.json_response({
        "from": proof.size1, "to": proof.size2, "root1": _b64(proof.root1),
        "root2": _b64(proof.root2), "proof": [_b64(h) for h in proof.proof],
    })
