"""The witness's request parsing and judgement take any bytes from the network: each body is
either refused as malformed (400) or judged (a checkpoint to cosign, or a refusal with one of
the spec's codes), never an unexpected exception (a 500)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import InvalidInputError
from ledger.tlog import reference
from ledger.tlog.checkpoint import Checkpoint
from ledger.witness.protocol import Recorded, Refusal, judge, parse_submission
from ledger.witness.server import trusted_logs
from tests.support.witness import ToyLog

LOG = ToyLog().grow(9)
TRUSTED = trusted_logs([LOG.signer.verifier])
RECORDED = Recorded(5, reference.mth(LOG.entries[:5]))
VALID = LOG.submission(5)


def _judged(body: bytes) -> None:
    try:
        submission = parse_submission(body)
    except InvalidInputError:
        return
    for recorded in (None, RECORDED):
        outcome = judge(submission, TRUSTED, recorded)
        assert isinstance(outcome, Checkpoint) or (
            isinstance(outcome, Refusal) and outcome.status in (400, 403, 404, 409, 422))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes(body: bytes) -> None:
    _judged(body)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(VALID) - 1), st.integers(0, 255))
def test_one_byte_changed_in_a_valid_request(at: int, value: int) -> None:
    body = bytearray(VALID)
    body[at] = value
    _judged(bytes(body))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, len(VALID)))
def test_a_valid_request_cut_short(at: int) -> None:
    _judged(VALID[:at])


def test_the_valid_request_is_cosigned_only_from_the_recorded_size() -> None:
    submission = parse_submission(VALID)
    assert isinstance(judge(submission, TRUSTED, RECORDED), Checkpoint)
    refused = judge(submission, TRUSTED, None)
    assert isinstance(refused, Refusal) and (refused.status, refused.text) == (409, "0\n")


def test_an_unknown_origin_is_not_echoed_at_any_length() -> None:
    # The origin line is the sender's: up to the 64 KiB body, logged and answered per request.
    submission = parse_submission(b"old 0\n\n" + b"x" * 60_000 + b"\n1\nAAAA\n")
    refusal = judge(submission, TRUSTED, None)
    assert isinstance(refusal, Refusal) and refusal.status == 404
    assert len(refusal.text) < 200
    assert len(submission.origin_label) < 200
