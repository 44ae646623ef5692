"""The fast canonical path is byte-identical to the rfc8785 reference implementation."""

from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import (
    MAX_SAFE_INTEGER,
    encode_canonical,
    encode_reference,
    encode_with_checked_members,
)
from ledger.errors import InvalidInputError

# Strings without lone surrogates (neither implementation can encode those as UTF-8).
texts = st.text(alphabet=st.characters(exclude_categories=["Cs"]))
bmp_or_astral_keys = st.one_of(
    texts,
    st.text(alphabet=st.characters(min_codepoint=0xE000, max_codepoint=0xFFFF)),
    st.text(alphabet=st.characters(min_codepoint=0x10000, max_codepoint=0x1FFFF)),
)
scalars = st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | texts
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(bmp_or_astral_keys, children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=1500)
@given(values)
def test_fast_path_is_byte_identical_to_rfc8785(value: object) -> None:
    assert encode_canonical(value) == encode_reference(value)  # type: ignore[arg-type]


def test_keys_sort_by_utf16_code_units_even_beyond_the_bmp() -> None:
    value = {"\U0001f600": 1, "\ufb01": 2}  # U+1F600 is D83D DE00 in UTF-16: it sorts first
    assert encode_canonical(value) == '{"\U0001f600":1,"\ufb01":2}'.encode()


def test_control_characters_are_escaped_as_rfc8785_says() -> None:
    assert encode_canonical("\x00\x1f\b\t\n\f\r\"\\") == b'"\\u0000\\u001f\\b\\t\\n\\f\\r\\"\\\\"'


@pytest.mark.parametrize("bad", [1.5, 2**53, {"k": float("nan")}, {1: "x"}, "\ud800"])
def test_refuses_what_the_entry_format_forbids(bad: object) -> None:
    with pytest.raises(InvalidInputError):
        encode_canonical(bad)  # type: ignore[arg-type]


@settings(max_examples=500)
@given(values, values)
def test_checking_only_the_named_members_encodes_as_the_whole_document(
        payload: object, actor: object) -> None:
    document = {"v": 1, "type": "ItemCommented", "payload": payload, "actor": actor}
    assert encode_with_checked_members(
        document, ("payload", "actor")) == encode_reference(document)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [1.5, 2**53, {"k": float("nan")}, {1: "x"}, "\ud800"])
def test_a_named_member_is_still_refused_with_its_path(bad: object) -> None:
    with pytest.raises(InvalidInputError, match=r"\$\.payload|canonicalisable"):
        encode_with_checked_members({"v": 1, "payload": {"x": bad}}, ("payload",))


def test_encoded_bytes_take_no_more_memory_than_their_length() -> None:
    # What tracemalloc sees allocated for each kept encoding: an entry's bytes are held for
    # a while (recent entries, queued appends), so spare capacity would be held with them.
    document = {f"member {k}": "交接清单" * 10 for k in range(30)}  # ~1.3 KiB, as an entry
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [encode_canonical(document) for _ in range(200)]
        held = (tracemalloc.get_traced_memory()[0] - before) / len(kept)
    finally:
        tracemalloc.stop()
    assert held < len(kept[0]) + 128, f"{held:.0f} bytes held for {len(kept[0])} encoded"
