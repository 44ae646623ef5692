"""``verify.py``'s RFC 8785 encoder (the standard library's, in two paths) gives the bytes of
the ledger's own (``ledger.canonical``: orjson, or the ``rfc8785`` reference beyond the BMP), and
its entry decoder refuses what ``ledger.entry.decode_entry`` refuses, with the same detail."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.bundle.verify import decode_entry, encode_canonical
from ledger.canonical import encode_canonical as ledger_encode
from ledger.entry import decode_entry as ledger_decode
from ledger.errors import VerificationError

_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=20)


@given(_JSON)
def test_the_canonical_bytes_are_the_ledgers(value: object) -> None:
    expected = ledger_encode(value)  # type: ignore[arg-type]
    assert encode_canonical(value) == expected
    if not any(0xF0 <= b <= 0xF4 for b in expected):
        assert encode_canonical(value, bmp_keys=True) == expected


def test_keys_beyond_the_bmp_sort_by_utf16_code_units() -> None:
    value = {"\U0001f600": 1, "\uff61": 2}  # U+FF61 < U+1F600, but 0xFF61 > 0xD83D
    assert encode_canonical(value) == ledger_encode(value) == (
        '{"\U0001f600":1,"\uff61":2}'.encode())


GOOD = (b'{"actor":{"id":"hr.t"},"context":{},"id":"0b0e6c52-7a55-4a8e-8f43-3a7d8d5f8c11",'
        b'"payload":{"n":1},"prev":null,"recorded_at":"2026-11-01T08:00:00.000000Z",'
        b'"stream":{"id":"5d5f2c1e-1b2a-4c3d-9e8f-0a1b2c3d4e5f","type":"item"},'
        b'"type":"ItemCreated","v":1,"version":1}')


@pytest.mark.parametrize("raw", [
    GOOD.replace(b'"n":1', b'"n":1.5'),
    GOOD.replace(b'"n":1', b'"n":9007199254740993'),
    GOOD.replace(b'"v":1', b'"v":2'),
    GOOD.replace(b'"type":"item"', b'"type":"thing"'),
    GOOD.replace(b'"version":1', b'"version":0'),
    GOOD.replace(b'"context":{}', b'"context":[]'),
    GOOD.replace(b'"prev":null', b'"prev":"00"'),
    GOOD.replace(b'"context":{},', b'"context":{}, '),
    GOOD.replace(b'"0b0e6c52', b'"0B0E6C52'),
    GOOD.replace(b'.000000Z', b'Z'),
    GOOD.replace(b',"v":1', b''),
    GOOD[:-1],
    b"\xff",
])
def test_a_bad_entry_is_refused_with_the_ledgers_detail(raw: bytes) -> None:
    with pytest.raises(VerificationError) as ledgers:
        ledger_decode(raw)
    with pytest.raises(ValueError, match=r"\w") as ours:
        decode_entry("entries/item/x/000001.json", raw)
    assert str(ours.value) == str(ledgers.value).removeprefix("malformed entry: ")


def test_a_good_entry_decodes_alike() -> None:
    ours, ledgers = decode_entry("p", GOOD), ledger_decode(GOOD)
    assert (ours.stream_id, ours.version, ours.event_type, ours.hash) == (
        str(ledgers.stream_id), ledgers.version, ledgers.event_type, ledgers.event_hash.hex())


@given(st.dictionaries(_TEXT, _JSON, max_size=4), st.lists(st.sampled_from(
    ["report.pdf", "report.html", "entries/a", "证据.pdf"]), max_size=6))
def test_the_content_manifest_of_a_checked_manifest_is_the_one_checked_again(
        extra: dict[str, object], paths: list[str]) -> None:
    # step 9 leaves the check out for a manifest step 2 found canonical with BMP keys only
    from ledger.bundle.verifier import LedgerPrimitives, content_manifest

    manifest = {**extra, "files": [{"path": p, "sha256": "0" * 64, "size": 1} for p in paths]}
    prim = LedgerPrimitives()
    doc = prim.manifest(ledger_encode(manifest))  # type: ignore[arg-type]
    checked = doc is prim.checked_manifest
    assert checked == all(k.isascii() or max(k) <= "\uffff" for k in _keys(manifest))
    assert content_manifest(doc, checked=checked) == content_manifest(doc)


def _keys(value: object) -> list[str]:
    if isinstance(value, dict):
        return [k for key, item in value.items() for k in [key, *_keys(item)]]
    if isinstance(value, list):
        return [k for item in value for k in _keys(item)]
    return []
