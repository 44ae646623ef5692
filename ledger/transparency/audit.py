"""Audit of a remote ledger through its public log endpoints, as an outside auditor runs it.

Trusts only the verifier keys it is given (never the server's ``/log/key``): opens the signed
checkpoint (C2SP tlog-checkpoint), fetches every hash tile and entry bundle the checkpoint's
tree needs (C2SP tlog-tiles), recomputes the RFC 6962 tree from the entries and compares every
tile and the root. Given the state of a previous run, it is a monitor: the new checkpoint must
extend the one verified before, checked both over the recomputed tree and with the server's
RFC 9162 consistency proof; a fork or rollback is reported with both roots. The state file is
written only after a fully successful audit.

Errors: ``VerificationError`` (or its ``AuditFailedError``, listing every problem) when the log
fails a check; ``NotFoundError`` (HTTP 404), ``PushbackError`` (timeouts, refused connections,
HTTP 429 / 5xx) and ``ConfigurationError`` (other HTTP answers) when it cannot be read;
``InvalidInputError`` for a bad URL, key list or state file.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from yarl import URL

from ledger.durable import write_durably
from ledger.errors import (
    ConfigurationError,
    InvalidInputError,
    NotFoundError,
    PushbackError,
    VerificationError,
)
from ledger.tlog.checkpoint import Checkpoint, open_checkpoint
from ledger.tlog.hashing import HASH_SIZE, hash_children, hash_leaf
from ledger.tlog.note import Verifier, decode_base64, split_note
from ledger.tlog.tile import (
    ENTRY_LENGTH,
    TILE_HEIGHT,
    TILE_WIDTH,
    Tile,
    changed_tiles,
    decode_entry_bundle,
    tile_path,
)
from ledger.tlog.tree import split_stored_hash_index, tree_hash
from ledger.transparency.extension import ForkError, RollbackError, prove_extension
from ledger.witness.policy import PolicyOutcome, WitnessPolicy

AuditProgress = Callable[[int, int], None]
"""Called with (tiles fetched, tiles to fetch) as the fetches complete."""

DEFAULT_CONCURRENCY = 8
DEFAULT_TIMEOUT = 30.0
_MAX_NOTE_BYTES = 1 << 16
_MAX_TILE_BYTES = TILE_WIDTH * (2 + ENTRY_LENGTH)  # an entry bundle is the largest tile
_MAX_PROOF_BYTES = 1 << 16
_MAX_PROBLEMS_PER_KIND = 50


@dataclass(frozen=True)
class AuditState:
    """The last checkpoint a monitor verified: what the next run must prove consistency to."""

    origin: str
    size: int
    root: bytes
    note: bytes


@dataclass(frozen=True)
class AuditReport:
    """A successful audit: the checkpoint verified, what was checked, the state it extended."""

    checkpoint: Checkpoint
    note: bytes
    tiles: int
    bundles: int
    previous: AuditState | None
    witnesses: PolicyOutcome | None = None  # with a witness policy: which cosignatures held


class AuditFailedError(VerificationError):
    """The log failed one or more checks; ``problems`` lists each, naming its tile or index."""

    def __init__(self, problems: Sequence[VerificationError]) -> None:
        shown = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"{len(problems)} problem(s): {shown}{more}")
        self.problems = list(problems)


async def audit_log(
    base_url: str, verifiers: Sequence[Verifier], *, state_path: Path | None = None,
    session: aiohttp.ClientSession | None = None, progress: AuditProgress | None = None,
    concurrency: int = DEFAULT_CONCURRENCY, request_timeout: float = DEFAULT_TIMEOUT,
    witnesses: WitnessPolicy | None = None,
) -> AuditReport:
    """Audit the ledger at ``base_url`` (http or https) and return what was verified.

    Requires at least one verifier key; the first one's name is the log origin. With
    ``state_path``, a state file there (if any) is the checkpoint to prove consistency to, and
    the new checkpoint replaces it once everything verified. Talks to ``base_url`` only, at
    most ``concurrency`` requests at once, each given ``request_timeout`` seconds. With
    ``witnesses``, the checkpoint must also carry cosignatures by enough of their keys (C2SP
    tlog-cosignature; a forged one by a listed key fails the audit).
    """
    base = check_base_url(base_url)
    if not verifiers:
        raise InvalidInputError("at least one verifier key is needed", field="key")
    if concurrency < 1 or request_timeout <= 0:
        raise InvalidInputError("concurrency and request timeout must be positive")
    origin = verifiers[0].name
    previous = load_state(state_path, verifiers, origin) if state_path is not None else None
    limit = aiohttp.ClientTimeout(total=request_timeout)
    async with _client(session, limit, concurrency) as http:
        remote = RemoteLog(http, base, limit, concurrency)
        report = await _audit(remote, verifiers, origin, previous, progress, witnesses)
    if state_path is not None:
        checkpoint = report.checkpoint
        save_state(state_path, AuditState(origin, checkpoint.size, checkpoint.root_hash,
                                          report.note))
    return report


def check_base_url(base_url: str) -> URL:
    """Return the parsed base URL; requires an absolute http(s) URL without query or fragment."""
    try:
        url = URL(base_url)
    except (ValueError, TypeError) as e:
        raise InvalidInputError(f"malformed URL {base_url!r}", field="base_url") from e
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidInputError(f"refusing {base_url!r}: only http(s) URLs with a host",
                                field="base_url")
    if url.query_string or url.fragment:
        raise InvalidInputError("the base URL must not carry a query or fragment",
                                field="base_url")
    return url


async def _audit(remote: RemoteLog, verifiers: Sequence[Verifier], origin: str,
                 previous: AuditState | None, progress: AuditProgress | None,
                 witnesses: WitnessPolicy | None) -> AuditReport:
    note = await remote.get("log/checkpoint", _MAX_NOTE_BYTES)
    try:
        checkpoint = open_checkpoint(note, verifiers, origin)
        cosigned = witnesses.check(*split_note(note)) if witnesses is not None else None
    except VerificationError as e:
        raise VerificationError(f"log/checkpoint: {e}") from e
    hash_tiles = changed_tiles(0, checkpoint.size)
    bundles = [Tile(t.H, -1, t.N, t.W) for t in hash_tiles if t.L == 0]
    fetched = await remote.fetch_tiles([*bundles, *hash_tiles], progress)
    levels = _tree_levels(_leaf_hashes(bundles, fetched))
    problems = _compare_tiles(hash_tiles, fetched, levels)
    reader = _LevelReader(levels)
    computed = tree_hash(checkpoint.size, reader)
    if computed != checkpoint.root_hash:
        problems.append(VerificationError(
            f"checkpoint root {_b64(checkpoint.root_hash)} of size {checkpoint.size} does not "
            f"match the root {_b64(computed)} recomputed from the entry bundles"))
    if previous is not None:
        problems += await _check_previous(remote, previous, checkpoint, reader)
    if cosigned is not None and not cosigned.satisfied:
        problems.append(VerificationError(f"log/checkpoint: {cosigned.describe()}"))
    if problems:
        raise AuditFailedError(problems)
    return AuditReport(checkpoint, note, len(hash_tiles), len(bundles), previous, cosigned)


def _leaf_hashes(bundles: Sequence[Tile], fetched: dict[Tile, bytes]) -> list[bytes]:
    """Leaf hashes of every entry, in log order; bundles must be in order, each fetched."""
    leaves: list[bytes] = []
    problems: list[VerificationError] = []
    for bundle in bundles:
        path = tile_path(bundle)
        try:
            entries = decode_entry_bundle(fetched[bundle])
        except InvalidInputError as e:
            problems.append(VerificationError(f"{path}: malformed entry bundle: {e}",
                                              index=bundle.N * TILE_WIDTH))
            continue
        if len(entries) != bundle.W:
            problems.append(VerificationError(
                f"{path}: {len(entries)} entries, want {bundle.W}", index=bundle.N * TILE_WIDTH))
            continue
        leaves += [hash_leaf(entry) for entry in entries]
    if problems:  # without every entry there is no tree to compare the tiles with
        raise AuditFailedError(problems)
    return leaves


def _tree_levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every complete subtree's hash by tree level; levels[k][n] is MTH of leaves n*2**k on.

    Requires the leaf hashes in log order; levels[0] is ``leaves`` itself.
    """
    levels = [leaves]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([hash_children(below[i], below[i + 1])
                       for i in range(0, len(below) - 1, 2)])
    return levels


class _LevelReader:
    """A HashReader over recomputed levels, so tree_hash runs on what the auditor computed."""

    def __init__(self, levels: list[list[bytes]]) -> None:
        self.levels = levels

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        """Return the stored hashes at ``indexes``; each must lie within the recomputed tree."""
        hashes = []
        for index in indexes:
            level, n = split_stored_hash_index(index)
            hashes.append(self.levels[level][n])
        return hashes


def _compare_tiles(tiles: Sequence[Tile], fetched: dict[Tile, bytes],
                   levels: list[list[bytes]]) -> list[VerificationError]:
    """One problem per hash tile (L >= 0) whose hashes differ from the recomputed ones."""
    problems: list[VerificationError] = []
    for tile in tiles:
        data = fetched[tile]
        level = TILE_HEIGHT * tile.L
        start = tile.N * TILE_WIDTH
        expected = levels[level][start:start + tile.W] if level < len(levels) else []
        if len(data) != HASH_SIZE * tile.W or len(expected) != tile.W:
            problems.append(VerificationError(
                f"{tile_path(tile)}: {len(data)} bytes, want {HASH_SIZE * tile.W}"))
            continue
        wrong = [i for i in range(tile.W) if data[i * HASH_SIZE:(i + 1) * HASH_SIZE] != expected[i]]
        if wrong:
            problems.append(_tile_problem(tile, wrong))
        if len(problems) >= _MAX_PROBLEMS_PER_KIND:
            break
    return problems


def _tile_problem(tile: Tile, wrong: Sequence[int]) -> VerificationError:
    first = tile.N * TILE_WIDTH + wrong[0]
    more = f" (and {len(wrong) - 1} more in this tile)" if len(wrong) > 1 else ""
    if tile.L == 0:
        bundle = tile_path(Tile(tile.H, -1, tile.N, tile.W))
        return VerificationError(
            f"{tile_path(tile)}: hash {wrong[0]} is not the leaf hash of log index {first} "
            f"recomputed from {bundle}{more} (tile altered or entries rewritten)", index=first)
    return VerificationError(
        f"{tile_path(tile)}: hash {wrong[0]} (tree level {TILE_HEIGHT * tile.L}, node {first}) "
        f"does not match the subtree hash recomputed from the entries{more} (tile altered)")


async def _check_previous(remote: RemoteLog, previous: AuditState, checkpoint: Checkpoint,
                          reader: _LevelReader) -> list[VerificationError]:
    """Problems if ``checkpoint`` does not extend ``previous`` (rollback or fork), checked
    over the recomputed tree and with the server's consistency proof (``prove_extension``)."""
    old = f"size {previous.size} (root {_b64(previous.root)})"
    new = f"size {checkpoint.size} (root {_b64(checkpoint.root_hash)})"

    async def root_at(size: int) -> bytes:
        return tree_hash(size, reader)

    try:
        await prove_extension(previous.size, previous.root, checkpoint.size,
                              checkpoint.root_hash, root_at, remote.consistency_proof)
    except RollbackError:
        return [VerificationError(
            f"rollback: the log's checkpoint has {new}, smaller than the checkpoint of {old} "
            "verified before", index=checkpoint.size)]
    except ForkError as e:
        if e.found is not None:
            return [VerificationError(
                f"fork: the log's tree at size {previous.size} has root {_b64(e.found)}, but "
                f"the checkpoint verified before has {old}; the current checkpoint has {new}",
                index=previous.size)]
        return [VerificationError(
            f"fork: the log's consistency proof from {old} to {new} does not verify: "
            f"{e.detail}")]
    return []


class RemoteLog:
    """GETs below one base URL, no redirects, bounded in size and time; maps HTTP failures."""

    def __init__(self, http: aiohttp.ClientSession, base: URL, timeout: aiohttp.ClientTimeout,
                 concurrency: int) -> None:
        self.http = http
        self.base = str(base).rstrip("/")
        self.timeout = timeout
        self.concurrency = concurrency

    async def get(self, path: str, limit: int) -> bytes:
        """The body of ``<base>/<path>``; requires a relative path, answers at most ``limit``."""
        url = f"{self.base}/{path}"
        try:
            async with self.http.get(url, allow_redirects=False, timeout=self.timeout) as resp:
                if resp.status != 200:
                    raise _status_error(url, resp.status, resp.headers.get("Retry-After"))
                body = bytearray()
                async for chunk in resp.content.iter_chunked(1 << 16):
                    body += chunk
                    if len(body) > limit:
                        raise VerificationError(f"{url}: answer larger than {limit} bytes")
                return bytes(body)
        except TimeoutError as e:
            raise PushbackError(f"{url}: no complete answer within {self.timeout.total}s") from e
        except aiohttp.ClientError as e:  # the one place aiohttp's exceptions are mapped
            raise PushbackError(f"{url}: {type(e).__name__}: {e}") from e

    async def fetch_tiles(self, tiles: Sequence[Tile],
                          progress: AuditProgress | None) -> dict[Tile, bytes]:
        """Every tile's body, fetched ``concurrency`` at a time; the first failure cancels."""
        fetched: dict[Tile, bytes] = {}
        pending = iter(tiles)

        async def worker() -> None:
            for tile in pending:  # one shared iterator: each tile is taken exactly once
                fetched[tile] = await self.get(f"log/{tile_path(tile)}", _MAX_TILE_BYTES)
                if progress is not None:
                    progress(len(fetched), len(tiles))

        if progress is not None:
            progress(0, len(tiles))
        workers = [asyncio.create_task(worker()) for _ in range(min(self.concurrency,
                                                                    len(tiles)))]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        return fetched

    async def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """The server's RFC 9162 consistency proof from ``size1`` to ``size2`` (unverified)."""
        path = f"v1/log/proof/consistency?from={size1}&to={size2}"
        body = await self.get(path, _MAX_PROOF_BYTES)
        try:
            doc = json.loads(body)
            if (doc["from"], doc["to"]) != (size1, size2):
                raise ValueError("proof for other sizes")
            return [decode_base64(h) for h in doc["proof"]]
        except (ValueError, TypeError, KeyError, InvalidInputError, RecursionError) as e:
            raise VerificationError(f"{path}: malformed consistency proof: {e}") from e


def _status_error(url: str, status: int, retry_after: str | None) -> Exception:
    if status in (404, 410):
        return NotFoundError(f"{url}: HTTP {status}, not found")
    if status == 429 or status >= 500:
        wait = retry_after.isascii() and retry_after.isdigit() if retry_after else False
        seconds = int(retry_after) if wait and retry_after else 1
        return PushbackError(f"{url}: HTTP {status}, try again later", retry_after=seconds)
    return ConfigurationError(f"{url}: HTTP {status}; is this the base URL of a ledger?")


@contextlib.asynccontextmanager
async def _client(session: aiohttp.ClientSession | None, limit: aiohttp.ClientTimeout,
                  concurrency: int) -> AsyncIterator[aiohttp.ClientSession]:
    if session is not None:
        yield session
        return
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=limit,
                                     headers={"User-Agent": "handover-ledger-audit"}) as own:
        yield own


def load_state(path: Path, verifiers: Sequence[Verifier], origin: str) -> AuditState | None:
    """The state saved at ``path`` by a previous audit, or None if there is no file.

    Requires the verifiers of the key that signed the saved checkpoint: its signature is
    checked again, so the state names a checkpoint the log really signed.
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        state = AuditState(doc["origin"], int(doc["size"]), decode_base64(doc["root"]),
                           str(doc["checkpoint"]).encode())
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError, InvalidInputError) as e:
        raise InvalidInputError(f"unreadable state file {path}: {e}", field="state") from e
    if state.origin != origin:
        raise InvalidInputError(f"state file {path} is for log {state.origin!r}, not {origin!r}",
                                field="state")
    try:
        saved = open_checkpoint(state.note, verifiers, origin)
    except VerificationError as e:
        raise VerificationError(f"state file {path}: its checkpoint does not verify with the "
                                f"given keys (pass the key that signed it too): {e}") from e
    if (saved.size, saved.root_hash) != (state.size, state.root):
        raise VerificationError(f"state file {path}: size and root disagree with its checkpoint")
    return state


def save_state(path: Path, state: AuditState) -> None:
    """Write ``state`` to ``path`` atomically and durably (ledger.durable: temporary file,
    fsync, rename, folder fsync)."""
    text = json.dumps({"origin": state.origin, "size": state.size, "root": _b64(state.root),
                       "checkpoint": state.note.decode()}, indent=2) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_durably(path, text.encode("utf-8"))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
