"""The entry envelope: RFC 8785 bytes, the JSON subset, and strict verification on decode."""

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import MAX_SAFE_INTEGER, JSONObject, JSONValue, encode_canonical
from ledger.entry import decode_entry, encode_entry, format_time, parse_time
from ledger.errors import InvalidInputError, VerificationError

EVENT_ID = UUID("00000000-0000-4000-8000-000000000001")
STREAM_ID = UUID("00000000-0000-4000-8000-0000000000aa")
RECORDED_AT = datetime(2025, 3, 31, 9, 30, 0, 123456, tzinfo=UTC)
ACTOR: JSONObject = {"id": "emp-zhang", "role": "employee"}
CONTEXT: JSONObject = {"request_id": "req-1", "ip": "10.0.0.8", "user_agent": "curl/8",
                       "auth": "bearer"}
PREV = hashlib.sha256(b"version 1").digest()


def encode(**changes: Any) -> tuple[bytes, bytes]:
    fields: dict[str, Any] = {
        "event_id": EVENT_ID, "stream_type": "item", "stream_id": STREAM_ID, "version": 1,
        "event_type": "ItemSubmitted", "recorded_at": RECORDED_AT, "actor": ACTOR,
        "context": CONTEXT, "payload": {"note": "ok"}, "prev": None,
    }
    fields.update(changes)
    return encode_entry(**fields)


def canonical_variant(raw: bytes, **changes: Any) -> bytes:
    """Return canonical bytes of ``raw``'s document with top-level ``changes`` applied."""
    document = json.loads(raw)
    document.update(changes)
    return encode_canonical(document)


# --- encoding ----------------------------------------------------------------------------


def test_encodes_the_fixed_envelope_byte_for_byte() -> None:
    # Expected bytes written by hand from DESIGN.md's envelope: keys sorted, no whitespace,
    # non-ASCII as raw UTF-8, prev as lowercase hex.
    raw, event_hash = encode(version=2, prev=bytes(range(32)), payload={"note": "已交接"})

    expected = (
        '{"actor":{"id":"emp-zhang","role":"employee"},'
        '"context":{"auth":"bearer","ip":"10.0.0.8","request_id":"req-1","user_agent":"curl/8"},'
        '"id":"00000000-0000-4000-8000-000000000001",'
        '"payload":{"note":"已交接"},'
        '"prev":"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",'
        '"recorded_at":"2025-03-31T09:30:00.123456Z",'
        '"stream":{"id":"00000000-0000-4000-8000-0000000000aa","type":"item"},'
        '"type":"ItemSubmitted","v":1,"version":2}'
    ).encode()
    assert raw == expected
    assert event_hash == hashlib.sha256(expected).digest()


def test_round_trips_every_field() -> None:
    raw, event_hash = encode(version=3, prev=PREV, payload={"evidence": [{"sha256": "ab"}]})

    entry = decode_entry(raw, event_hash)

    assert entry.event_id == EVENT_ID
    assert entry.stream_type == "item"
    assert entry.stream_id == STREAM_ID
    assert entry.version == 3
    assert entry.event_type == "ItemSubmitted"
    assert entry.recorded_at == RECORDED_AT
    assert entry.actor == ACTOR
    assert entry.context == CONTEXT
    assert entry.payload == {"evidence": [{"sha256": "ab"}]}
    assert entry.prev == PREV
    assert entry.raw == raw
    assert entry.event_hash == event_hash == hashlib.sha256(raw).digest()


def test_decodes_without_an_expected_hash_and_still_reports_the_hash_of_the_bytes() -> None:
    raw, event_hash = encode()

    assert decode_entry(raw).event_hash == event_hash


def test_writes_chinese_as_utf8_and_escapes_only_what_rfc8785_escapes() -> None:
    raw, _ = encode(payload={"title": "客户资料", "ctl": "a\u0001b\nc\"d\\e\u007f"})

    assert "客户资料".encode() in raw
    assert b"\\u5ba2" not in raw
    assert b'"a\\u0001b\\nc\\"d\\\\e\x7f"' in raw


def test_sorts_keys_by_utf16_code_units_at_every_level() -> None:
    # RFC 8785 section 3.2.3: U+1F600 is D83D DE00 in UTF-16, so it sorts before U+FB01,
    # although its code point is larger.
    raw, _ = encode(payload={"\ufb01": 1, "\U0001f600": 2, "b": {"z": 1, "a": 2}, "a": 3})

    assert '"payload":{"a":3,"b":{"a":2,"z":1},"😀":2,"ﬁ":1}'.encode() in raw


def test_contains_no_insignificant_whitespace() -> None:
    raw, _ = encode(payload={"list": [1, 2, {"k": None}], "flag": True})

    assert b" " not in raw
    assert b"\n" not in raw
    assert b'"payload":{"flag":true,"list":[1,2,{"k":null}]}' in raw


def test_records_time_in_utc_with_microseconds_and_z() -> None:
    beijing = timezone(timedelta(hours=8))
    raw, _ = encode(recorded_at=datetime(2025, 3, 31, 17, 30, tzinfo=beijing))

    assert b'"recorded_at":"2025-03-31T09:30:00.000000Z"' in raw
    moment = datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert format_time(moment) == "2025-01-02T03:04:05.000006Z"
    assert parse_time("2025-01-02T03:04:05.000006Z") == moment


def test_refuses_a_naive_timestamp() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        encode(recorded_at=datetime(2025, 3, 31, 9, 30))


@pytest.mark.parametrize("where", ["payload", "actor", "context"])
@pytest.mark.parametrize("value", [1.5, 1.0, 0.0, float("nan"), float("inf")])
def test_refuses_floats_anywhere_in_the_entry(where: str, value: float) -> None:
    with pytest.raises(InvalidInputError, match="floats are not allowed in entries"):
        encode(**{where: {"amount": [{"cents": value}]}})


@pytest.mark.parametrize("value", [2**53, -(2**53), 2**63, -(2**64)])
def test_refuses_integers_outside_the_safe_range(value: int) -> None:
    with pytest.raises(InvalidInputError, match=rf"integer {value} exceeds 2\^53-1"):
        encode(payload={"cents": value})


@pytest.mark.parametrize("value", [MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 0])
def test_accepts_integers_at_the_edge_of_the_safe_range(value: int) -> None:
    raw, event_hash = encode(payload={"cents": value})

    assert decode_entry(raw, event_hash).payload == {"cents": value}


def test_refuses_non_json_types_in_the_payload() -> None:
    with pytest.raises(InvalidInputError, match=r"\$\.payload\.when: datetime is not a JSON type"):
        encode(payload={"when": RECORDED_AT})


def test_refuses_prev_for_version_one() -> None:
    with pytest.raises(ValueError, match="prev must be None exactly for version 1"):
        encode(version=1, prev=PREV)


@pytest.mark.parametrize("version", [2, 3, 100])
def test_refuses_a_missing_prev_after_version_one(version: int) -> None:
    with pytest.raises(ValueError, match="prev must be None exactly for version 1"):
        encode(version=version, prev=None)


# --- decoding: every deviation is a VerificationError ------------------------------------


def test_refuses_bytes_that_do_not_hash_to_the_expected_hash() -> None:
    raw, event_hash = encode()
    wrong = hashlib.sha256(b"something else").digest()

    message = f"entry bytes hash to {event_hash.hex()}, stored hash is {wrong.hex()}"
    with pytest.raises(VerificationError, match=message):
        decode_entry(raw, wrong)


def test_refuses_a_single_changed_byte_when_the_hash_is_known() -> None:
    raw, event_hash = encode(payload={"note": "ok"})
    tampered = raw.replace(b'"note":"ok"', b'"note":"no"')

    with pytest.raises(VerificationError, match="stored hash is"):
        decode_entry(tampered, event_hash)


@pytest.mark.parametrize("mangle", [
    pytest.param(lambda raw: raw.replace(b'":', b'": ', 1), id="space after colon"),
    pytest.param(lambda raw: raw + b"\n", id="trailing newline"),
    pytest.param(lambda raw: json.dumps(dict(reversed(list(json.loads(raw).items()))),
                                        ensure_ascii=False, separators=(",", ":")).encode(),
                 id="reordered keys"),
    pytest.param(lambda raw: json.dumps(json.loads(raw), sort_keys=True,
                                        separators=(",", ":")).encode(), id="escaped non-ASCII"),
    pytest.param(lambda raw: json.dumps(json.loads(raw), sort_keys=True, ensure_ascii=False,
                                        indent=1).encode(), id="pretty printed"),
])
def test_refuses_bytes_that_are_not_in_canonical_form(mangle: Any) -> None:
    raw, _ = encode(payload={"title": "客户资料", "n": 1})
    mangled = mangle(raw)
    assert mangled != raw

    with pytest.raises(VerificationError, match="not in RFC 8785 canonical form"):
        decode_entry(mangled)


def test_refuses_a_number_written_in_a_non_canonical_form() -> None:
    raw, _ = encode(payload={"n": 100})

    with pytest.raises(VerificationError, match="malformed entry"):
        decode_entry(raw.replace(b'"n":100', b'"n":1e2'))


@pytest.mark.parametrize("changes", [
    pytest.param({"signature": "x"}, id="unknown key"),
    pytest.param({"Payload": {}}, id="key differing in case"),
])
def test_refuses_an_unknown_envelope_key(changes: dict[str, Any]) -> None:
    raw, _ = encode()

    with pytest.raises(VerificationError, match="entry keys differ from the fixed envelope"):
        decode_entry(canonical_variant(raw, **changes))


@pytest.mark.parametrize("key", ["v", "id", "stream", "version", "type", "recorded_at", "actor",
                                 "context", "payload", "prev"])
def test_refuses_a_missing_envelope_key(key: str) -> None:
    raw, _ = encode()
    document = json.loads(raw)
    del document[key]

    with pytest.raises(VerificationError, match="entry keys differ from the fixed envelope"):
        decode_entry(encode_canonical(document))


@pytest.mark.parametrize(("changes", "message"), [
    ({"v": 2}, "unknown entry format version 2"),
    ({"stream": {"type": "employee", "id": str(STREAM_ID)}}, "unknown stream type 'employee'"),
    ({"stream": "item"}, "malformed entry"),
    ({"version": 0}, "bad version 0"),
    ({"version": "1"}, "bad version '1'"),
    ({"version": True}, "bad version True"),
    ({"payload": []}, "payload is not an object"),
    ({"actor": "emp-zhang"}, "actor is not an object"),
    ({"context": None}, "context is not an object"),
    ({"id": "not-a-uuid"}, "malformed entry"),
    ({"recorded_at": "2025-03-31 09:30:00"}, "malformed entry"),
    ({"prev": "zz"}, "malformed entry"),
])
def test_refuses_envelope_fields_of_the_wrong_form(changes: dict[str, Any], message: str) -> None:
    raw, _ = encode()

    with pytest.raises(VerificationError, match=message):
        decode_entry(canonical_variant(raw, **changes))


@pytest.mark.parametrize("raw", [b"", b"not json", b"[]", b"\xff\xfe", b'{"v":1}'])
def test_refuses_bytes_that_are_not_an_entry(raw: bytes) -> None:
    with pytest.raises(VerificationError, match="malformed entry"):
        decode_entry(raw)


def test_refuses_a_float_or_an_unsafe_integer_hidden_in_stored_bytes() -> None:
    raw, _ = encode(payload={"n": 1})

    with pytest.raises(VerificationError, match="malformed entry"):
        decode_entry(raw.replace(b'"n":1', b'"n":9007199254740993'))
    with pytest.raises(VerificationError, match="malformed entry"):
        decode_entry(raw.replace(b'"n":1', b'"n":1.5'))


# DESIGN.md fixes every field's form: canonical JSON that breaks it is refused on decode.
@pytest.mark.parametrize("changes", [
    pytest.param({"prev": PREV.hex()}, id="version 1 with a prev"),
    pytest.param({"version": 2}, id="version 2 with a null prev"),
    pytest.param({"prev": "ab"}, id="prev not 32 bytes"),
    pytest.param({"version": 2, "prev": PREV.hex().upper()}, id="prev in upper-case hex"),
    pytest.param({"v": True}, id="format version true instead of 1"),
    pytest.param({"stream": {"type": "item", "id": str(STREAM_ID), "x": 1}},
                 id="unknown key inside stream"),
    pytest.param({"id": "ABCDEF00-0000-4000-8000-00000000000A"}, id="upper-case event id"),
    pytest.param({"id": "{" + str(EVENT_ID) + "}"}, id="braced event id"),
    pytest.param({"stream": {"type": "item", "id": STREAM_ID.hex}}, id="stream id without dashes"),
    pytest.param({"recorded_at": "2025-3-31T9:30:0.5Z"}, id="time not zero-padded to micros"),
])
def test_refuses_canonical_entries_whose_fields_break_the_fixed_form(
    changes: dict[str, Any],
) -> None:
    raw, _ = encode()

    with pytest.raises(VerificationError):
        decode_entry(canonical_variant(raw, **changes))


# --- properties --------------------------------------------------------------------------

json_scalars = (
    st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.text()
    | st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Lo", "So", "Zs"]))
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children,
                                                                        max_size=5),
    max_leaves=25,
)
json_objects = st.dictionaries(st.text(), json_values, max_size=6)


@settings(deadline=None)
@given(payload=json_objects, actor=json_objects)
def test_decoding_an_encoded_entry_gives_back_the_same_payload(
    payload: dict[str, JSONValue], actor: dict[str, JSONValue],
) -> None:
    raw, event_hash = encode(payload=payload, actor=actor)

    entry = decode_entry(raw, event_hash)

    assert entry.payload == payload
    assert entry.actor == actor
    assert entry.raw == raw


@settings(deadline=None)
@given(payload=json_objects)
def test_encoding_is_stable_and_survives_a_decode_and_re_encode(
    payload: dict[str, JSONValue],
) -> None:
    raw, event_hash = encode(payload=payload)
    reordered = dict(reversed(list(payload.items())))

    assert encode(payload=payload) == (raw, event_hash)
    assert encode(payload=reordered) == (raw, event_hash)
    assert encode(payload=decode_entry(raw).payload) == (raw, event_hash)
    assert json.loads(raw)["payload"] == payload
