"""The same verifier key given twice is one key; two keys under one name and ID stay ambiguous."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.errors import VerificationError
from ledger.tlog.note import Signer, Verifier, open_note, sign_note
from ledger.transparency.keys import create_key, load_signers, load_verifiers, unique_verifiers

ORIGIN = "probe.example/log"


def test_the_service_own_key_passed_again_is_not_ambiguous(tmp_path: Path) -> None:
    _, vkey = create_key(tmp_path, ORIGIN)
    verifiers = load_verifiers(tmp_path, [vkey, vkey])
    assert [v.vkey for v in verifiers] == [vkey]
    note = sign_note("probe.example/log\n1\nAAAA\n", load_signers(tmp_path, ORIGIN))
    assert open_note(note, verifiers).text.startswith(ORIGIN)


def test_passing_a_key_is_the_same_as_finding_it_in_the_folder(tmp_path: Path) -> None:
    _, vkey = create_key(tmp_path / "a", ORIGIN)
    note = sign_note("probe.example/log\n1\nAAAA\n", load_signers(tmp_path / "a", ORIGIN))
    (tmp_path / "empty").mkdir()
    from_folder = open_note(note, load_verifiers(tmp_path / "a"))
    explicit = open_note(note, load_verifiers(tmp_path / "empty", [vkey]))
    both = open_note(note, load_verifiers(tmp_path / "a", [vkey]))
    assert from_folder == explicit == both


def test_two_different_keys_under_one_name_and_key_id_stay_ambiguous() -> None:
    signer = Signer(ORIGIN, bytes(range(32)))
    impostor = Verifier(ORIGIN, Signer(ORIGIN, bytes(range(1, 33))).public_key)
    impostor.key_id = signer.key_id  # a 32-bit key ID collision, as an attacker might find
    verifiers = unique_verifiers([signer.verifier, impostor, signer.verifier])
    assert len(verifiers) == 2
    note = sign_note("probe.example/log\n1\nAAAA\n", [signer])
    with pytest.raises(VerificationError, match="ambiguous key"):
        open_note(note, verifiers)
