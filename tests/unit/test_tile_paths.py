"""C2SP tlog-tiles paths, tile sets and entry bundles, byte for byte.

Expected values come from the tlog-tiles specification (index 1234067 is ``x001/x234/067``;
a tree of 70,000 entries has 273 full level-0 tiles, a level-0 tile of width 112, one full
level-1 tile, a level-1 tile of width 17 and a level-2 tile of width 1; a tree of 256 has one
full level-0 tile and a level-1 tile of width 1) and from Go's tlog Tile.Path comment.
"""

import pytest

from ledger.errors import InvalidInputError
from ledger.tlog.tile import (
    TILE_HEIGHT,
    Tile,
    changed_tiles,
    decode_entry_bundle,
    encode_entry_bundle,
    new_tiles,
    parse_tile_path,
    tile_for_index,
    tile_path,
)
from ledger.tlog.tree import stored_hash_index


@pytest.mark.parametrize(
    ("tile", "path"),
    [
        (Tile(8, 0, 1234067, 256), "tile/0/x001/x234/067"),
        (Tile(8, 0, 1234067, 1), "tile/0/x001/x234/067.p/1"),
        (Tile(8, 4, 1234067, 255), "tile/4/x001/x234/067.p/255"),
        (Tile(8, -1, 1234067, 256), "tile/entries/x001/x234/067"),
        (Tile(8, -1, 0, 112), "tile/entries/000.p/112"),
        (Tile(8, 0, 0, 256), "tile/0/000"),
        (Tile(8, 1, 999, 256), "tile/1/999"),
        (Tile(8, 1, 1000, 256), "tile/1/x001/000"),
        (Tile(8, 63, 123456789, 17), "tile/63/x123/x456/789.p/17"),
    ],
)
def test_tile_path_round_trips(tile: Tile, path: str) -> None:
    assert tile_path(tile) == path
    assert parse_tile_path(path) == tile


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1234067",  # digits not grouped by three
        "tile/0/x000/067",  # leading zero group
        "tile/0/x001",  # last element must not start with x
        "tile/0/0067",
        "tile/0/67",
        "tile/00/000",  # leading zero in the level
        "tile/64/000",  # level above 63
        "tile/-1/000",
        "tile/data/000",  # Go's sumdb spelling, not C2SP
        "tile/8/0/000",  # Go's sumdb path carries the height
        "tile/0/000.p/256",  # a full tile has no .p suffix
        "tile/0/000.p/0",
        "tile/0/000.p/007",
        "tile/0/000.p/",
        "tile/entries/000.p/300",
        "/tile/0/000",
        "tile/0/000/",
        "tile/0/000\n",
        "tile/0/\u0661\u0662\u0663",  # Arabic-Indic digits are not ASCII digits
        "tile/entries",
    ],
)
def test_rejects_non_canonical_tile_path(path: str) -> None:
    with pytest.raises(InvalidInputError, match="tile path"):
        parse_tile_path(path)


def test_tile_path_needs_height_eight() -> None:
    with pytest.raises(InvalidInputError, match="height"):
        tile_path(Tile(3, 4, 1234067, 8))


def test_changed_tiles_of_tree_of_70000_are_the_specification_example() -> None:
    tiles = changed_tiles(0, 70000)
    full0 = [t for t in tiles if t.L == 0 and t.W == 256]
    assert [t.N for t in full0] == list(range(273))
    assert [t for t in tiles if t not in full0] == [
        Tile(8, 0, 273, 112),
        Tile(8, 1, 0, 256),
        Tile(8, 1, 1, 17),
        Tile(8, 2, 0, 1),
    ]


def test_changed_tiles_of_tree_of_256_are_the_specification_example() -> None:
    assert changed_tiles(0, 256) == [Tile(8, 0, 0, 256), Tile(8, 1, 0, 1)]


def test_changed_tiles_lists_only_what_the_growth_changed() -> None:
    assert changed_tiles(256, 256) == []
    assert changed_tiles(300, 301) == [Tile(8, 0, 1, 45)]
    assert changed_tiles(300, 512) == [Tile(8, 0, 1, 256), Tile(8, 1, 0, 2)]


def test_new_tiles_lists_every_partial_width_as_go_does() -> None:
    # Go's tlog.NewTiles(8, 3, 5) publishes tile/8/0/000.p/3, .p/4 and .p/5.
    assert new_tiles(8, 3, 5) == [Tile(8, 0, 0, 3), Tile(8, 0, 0, 4), Tile(8, 0, 0, 5)]
    assert new_tiles(8, 0, 0) == []


def test_rejects_shrinking_tree() -> None:
    with pytest.raises(InvalidInputError, match="cannot grow"):
        changed_tiles(5, 4)


def test_tile_for_index_finds_leaf_and_interior_hashes() -> None:
    assert tile_for_index(TILE_HEIGHT, stored_hash_index(0, 300)) == Tile(8, 0, 1, 45)
    assert tile_for_index(TILE_HEIGHT, stored_hash_index(8, 0)) == Tile(8, 1, 0, 1)
    # An interior hash inside a tile is rebuilt from the narrowest tile that covers it.
    assert tile_for_index(TILE_HEIGHT, stored_hash_index(3, 1)) == Tile(8, 0, 0, 16)


def test_entry_bundle_round_trips_byte_for_byte() -> None:
    entries = [bytes([i]) * 32 for i in range(3)]
    bundle = encode_entry_bundle(entries)
    assert bundle == b"".join(b"\x00\x20" + e for e in entries)
    assert decode_entry_bundle(bundle) == entries
    full = [i.to_bytes(32, "big") for i in range(256)]
    assert decode_entry_bundle(encode_entry_bundle(full)) == full


@pytest.mark.parametrize(
    ("bundle", "reason"),
    [
        (b"", "empty"),
        (b"\x00\x20" + bytes(32) + b"\x00", "bad length prefix"),  # trailing byte
        (b"\x00\x20" + bytes(31), "truncated"),
        (b"\x00\x21" + bytes(33), "bad length prefix"),
        (b"\x00\x00", "bad length prefix"),
        ((b"\x00\x20" + bytes(32)) * 257, "more than 256"),
    ],
)
def test_rejects_malformed_entry_bundle(bundle: bytes, reason: str) -> None:
    with pytest.raises(InvalidInputError, match=reason):
        decode_entry_bundle(bundle)


@pytest.mark.parametrize("entries", [[], [bytes(31)], [bytes(32)] * 257])
def test_refuses_to_encode_invalid_entry_bundle(entries: list[bytes]) -> None:
    with pytest.raises(InvalidInputError):
        encode_entry_bundle(entries)


@pytest.mark.parametrize("path", [
    "tile/0/" + "x123/" * 1500 + "456",
    "tile/0/x001/x000/x000/x000/x000/x000/x000/000",  # 22 digits: beyond an int64
    "tile/0/x009/x223/x372/x036/x854/x775/808",  # 2**63
    "tile/0/000.p/" + "9" * 5000,
    "tile/0/000.p/0255",
    "tile/entries/000.p/" + "1" * 5000,
])
def test_rejects_tile_numbers_and_widths_too_long_to_name_a_tile(path: str) -> None:
    with pytest.raises(InvalidInputError, match="malformed tile path") as info:
        parse_tile_path(path)
    assert len(str(info.value)) < 200


def test_accepts_the_largest_int64_tile_number() -> None:
    tile = parse_tile_path("tile/0/x009/x223/x372/x036/x854/x775/807")
    assert tile.N == (1 << 63) - 1
