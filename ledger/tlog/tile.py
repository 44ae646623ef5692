"""Tiles of the log (C2SP tlog-tiles), ported from Go's golang.org/x/mod/sumdb/tlog tile.go.

A tile of height H at level L, number N lists W consecutive hashes at tree level H*L starting
at hash N*2**H; it stands for the whole subtree of height H above those hashes. Level -1 holds
the entries themselves (Go's "data" tiles, C2SP's entry bundles).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ledger.errors import InvalidInputError
from ledger.tlog.hashing import HASH_SIZE, hash_children
from ledger.tlog.tree import HashReader, _read, split_stored_hash_index, stored_hash_index

TILE_HEIGHT = 8
"""Height of every C2SP tlog-tiles tile: a full tile holds 2**8 hashes."""

TILE_WIDTH = 1 << TILE_HEIGHT
"""Hashes (or entries) in a full tile: 256, i.e. 8,192 bytes of hashes."""

ENTRY_LENGTH = HASH_SIZE
"""Every entry of our log is a 32-byte event hash, so each bundle entry has this length."""

_PATH_BASE = 1000  # N is written three decimal digits per path element (tlog-tiles)
_MAX_LEVEL = 63  # tlog-tiles: <L> is between 0 and 63
_MAX_NUMBER = (1 << 63) - 1  # Go parses N as an int64; a log never holds more tiles
# Bounded repetition: N has at most 21 digits (7 elements) and W at most 3, so a path with
# thousands of digits is refused by the pattern, before any int() (which Python caps at 4,300
# digits) or database lookup.
_TILE_PATH = re.compile(
    r"tile/(entries|0|[1-9][0-9]?)/((?:x[0-9]{3}/){0,6}[0-9]{3})(?:\.p/([0-9]{1,3}))?")


@dataclass(frozen=True)
class Tile:
    """Tile coordinates: height H >= 1, level L >= -1 (-1: entries), number N >= 0, width W.

    1 <= W <= 2**H; W == 2**H is a full tile, anything less a partial one.
    """

    H: int
    L: int
    N: int
    W: int


def tile_path(tile: Tile) -> str:
    """Return the C2SP path ``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]``.

    Requires tile.H == TILE_HEIGHT, -1 <= tile.L <= 63, tile.N >= 0 and 1 <= tile.W <= 256.
    """
    if tile.H != TILE_HEIGHT:
        raise InvalidInputError(f"tile height {tile.H} is not {TILE_HEIGHT}", field="H")
    if not -1 <= tile.L <= _MAX_LEVEL or tile.N < 0 or not 1 <= tile.W <= TILE_WIDTH:
        raise InvalidInputError(f"invalid tile {tile}")
    n = tile.N
    digits = f"{n % _PATH_BASE:03d}"
    while n >= _PATH_BASE:
        n //= _PATH_BASE
        digits = f"x{n % _PATH_BASE:03d}/{digits}"
    level = "entries" if tile.L == -1 else str(tile.L)
    partial = f".p/{tile.W}" if tile.W != TILE_WIDTH else ""
    return f"tile/{level}/{digits}{partial}"


def parse_tile_path(path: str) -> Tile:
    """Return the tile named by a C2SP tile path; only the canonical spelling is accepted."""
    match = _TILE_PATH.fullmatch(path)
    if match is None:
        raise InvalidInputError(f"malformed tile path {path[:80]!r}", field="path")
    level_text, digits, width_text = match.groups()
    level = -1 if level_text == "entries" else int(level_text)
    number = 0
    for part in digits.split("/"):
        number = number * _PATH_BASE + int(part.removeprefix("x"))
    width = TILE_WIDTH if width_text is None else int(width_text)
    partial_ok = width_text is None or 1 <= width < TILE_WIDTH
    if level > _MAX_LEVEL or not partial_ok or number > _MAX_NUMBER:
        raise InvalidInputError(f"malformed tile path {path!r}", field="path")
    tile = Tile(TILE_HEIGHT, level, number, width)
    # As Go's ParseTilePath: one spelling per tile (no x000/ prefixes, no leading zeros in W).
    if tile_path(tile) != path:
        raise InvalidInputError(f"non-canonical tile path {path!r}", field="path")
    return tile


def tile_for_index(h: int, index: int) -> Tile:
    """Return the tile of height ``h`` and least width holding stored hash ``index``.

    Requires h >= 1 and index >= 0.
    """
    if h < 1:
        raise InvalidInputError(f"invalid tile height {h}", field="h")
    return _tile_for_index(h, index)[0]


def hash_from_tile(tile: Tile, data: bytes, index: int) -> bytes:
    """Return stored hash ``index`` from the tile's data.

    Requires ``tile`` to be tile_for_index(tile.H, index) or a wider version of it, and
    ``data`` to hold at least tile.W hashes.
    """
    if not 1 <= tile.H <= 30 or not 0 <= tile.L < 64 or not 1 <= tile.W <= 1 << tile.H:
        raise InvalidInputError(f"invalid tile {tile}")
    if len(data) < tile.W * HASH_SIZE:
        raise InvalidInputError(f"data length {len(data)} too short for tile {tile}")
    wanted, start, end = _tile_for_index(tile.H, index)
    if (tile.L, tile.N) != (wanted.L, wanted.N) or tile.W < wanted.W:
        raise InvalidInputError(f"stored hash {index} is in {wanted}, not {tile}")
    return _tile_hash(data[start:end])


def new_tiles(h: int, old_size: int, new_size: int) -> list[Tile]:
    """Return Go's tlog.NewTiles: the tiles of height ``h`` to publish when the tree grows.

    Requires h >= 1 and 0 <= old_size <= new_size. Like Go, it lists every partial width from
    the old one to the new one; see changed_tiles for the minimal C2SP set.
    """
    _check_growth(h, old_size, new_size)
    tiles: list[Tile] = []
    level = 0
    while new_size >> (h * level) > 0:
        old_n = old_size >> (h * level)
        new_n = new_size >> (h * level)
        for n in range(old_n >> h, new_n >> h):
            tiles.append(Tile(h, level, n, 1 << h))
        n = new_n >> h
        min_w = max(old_n - (n << h), 1)
        for w in range(min_w, new_n - (n << h) + 1):
            tiles.append(Tile(h, level, n, w))
        level += 1
    return tiles


def changed_tiles(old_size: int, new_size: int) -> list[Tile]:
    """Return the C2SP hash tiles a tree of ``new_size`` has that one of ``old_size`` lacks.

    Requires 0 <= old_size <= new_size. These are the full tiles completed by the growth and,
    per level, the rightmost partial tile if it changed: tlog-tiles needs partial tiles only
    for checkpointed sizes. The matching entry bundles are the level-0 tiles with L = -1.
    """
    _check_growth(TILE_HEIGHT, old_size, new_size)
    tiles: list[Tile] = []
    level = 0
    while new_size >> (TILE_HEIGHT * level) > 0:
        old_n = old_size >> (TILE_HEIGHT * level)
        new_n = new_size >> (TILE_HEIGHT * level)
        for n in range(old_n >> TILE_HEIGHT, new_n >> TILE_HEIGHT):
            tiles.append(Tile(TILE_HEIGHT, level, n, TILE_WIDTH))
        width = new_n % TILE_WIDTH
        if width and new_n != old_n:
            tiles.append(Tile(TILE_HEIGHT, level, new_n >> TILE_HEIGHT, width))
        level += 1
    return tiles


def read_tile_data(tile: Tile, reader: HashReader) -> bytes:
    """Return the tile's content (W hashes, concatenated) read from ``reader``.

    Requires a hash tile (L >= 0) whose hashes are all stored.
    """
    if tile.H < 1 or tile.L < 0 or tile.N < 0 or not 1 <= tile.W <= 1 << tile.H:
        raise InvalidInputError(f"cannot read hashes of tile {tile}")
    start = tile.N << tile.H
    indexes = [stored_hash_index(tile.H * tile.L, start + i) for i in range(tile.W)]
    return b"".join(_read(reader, indexes))


def encode_entry_bundle(entries: list[bytes]) -> bytes:
    """Return the C2SP entry bundle of 1 to 256 entries, each 32 bytes long.

    Each entry is written as a big-endian uint16 length followed by the entry (tlog-tiles).
    """
    if not 1 <= len(entries) <= TILE_WIDTH:
        raise InvalidInputError(f"an entry bundle holds 1 to {TILE_WIDTH} entries")
    for i, entry in enumerate(entries):
        if len(entry) != ENTRY_LENGTH:
            raise InvalidInputError(f"entry {i} is {len(entry)} bytes, want {ENTRY_LENGTH}")
    prefix = ENTRY_LENGTH.to_bytes(2, "big")
    return b"".join(prefix + entry for entry in entries)


def decode_entry_bundle(data: bytes) -> list[bytes]:
    """Return the entries of an entry bundle; any input, strictly checked.

    Rejects an empty bundle, more than 256 entries, any length other than 32 and any
    truncated or trailing bytes.
    """
    entries: list[bytes] = []
    pos = 0
    while pos < len(data):
        if len(entries) == TILE_WIDTH:
            raise InvalidInputError(f"entry bundle holds more than {TILE_WIDTH} entries")
        length = int.from_bytes(data[pos : pos + 2], "big")
        if pos + 2 > len(data) or length != ENTRY_LENGTH:
            raise InvalidInputError(f"entry {len(entries)} has a bad length prefix at byte {pos}")
        entry = data[pos + 2 : pos + 2 + length]
        if len(entry) != length:
            raise InvalidInputError(f"entry {len(entries)} is truncated")
        entries.append(entry)
        pos += 2 + length
    if not entries:
        raise InvalidInputError("entry bundle is empty")
    return entries


def _tile_for_index(h: int, index: int) -> tuple[Tile, int, int]:
    # Returns the tile and the byte range of its data that hashes to the stored hash.
    level, n = split_stored_hash_index(index)
    tile_level = level // h
    level -= tile_level * h  # level within the tile
    tile_n = n << level >> h
    n -= tile_n << h >> level  # n within the tile, at that level
    width = (n + 1) << level
    return Tile(h, tile_level, tile_n, width), (n << level) * HASH_SIZE, width * HASH_SIZE


def _tile_hash(data: bytes) -> bytes:
    # The (2**k)-hash slice is a complete subtree: hash its halves (RFC 6962 section 2.1).
    if len(data) == HASH_SIZE:
        return data
    half = len(data) // 2
    return hash_children(_tile_hash(data[:half]), _tile_hash(data[half:]))


def _check_growth(h: int, old_size: int, new_size: int) -> None:
    if h < 1:
        raise InvalidInputError(f"invalid tile height {h}", field="h")
    if not 0 <= old_size <= new_size:
        raise InvalidInputError(f"tree cannot grow from size {old_size} to {new_size}")
