"""LEDGER_WITNESS_*: URLs and keys paired one to one, each checked, every fault named."""

from __future__ import annotations

import pytest

from ledger.errors import ConfigurationError
from ledger.settings import Settings
from ledger.tlog.note import Signer
from ledger.witness.cosignature import WitnessSigner

KEY = WitnessSigner("w.example/1", bytes(32)).key.vkey
KEY2 = WitnessSigner("w.example/2", bytes([1]) * 32).key.vkey
LOG_KEY = Signer("w", bytes(32)).verifier.vkey  # a log's key (type 0x01), not a witness's


def test_paired_urls_and_keys() -> None:
    settings = Settings.from_env({
        "LEDGER_WITNESS_URLS": "http://127.0.0.1:7380/, https://w.example",
        "LEDGER_WITNESS_KEYS": f"{KEY},{KEY2}"})
    [(url, key), (url2, _)] = settings.witnesses.witnesses()
    assert (url, url2, key.vkey) == ("http://127.0.0.1:7380", "https://w.example", KEY)
    assert Settings.from_env({}).witnesses.urls == ()


@pytest.mark.parametrize(("env", "says"), [
    ({"LEDGER_WITNESS_URLS": "http://127.0.0.1:1"}, "one key per URL"),
    ({"LEDGER_WITNESS_URLS": "ftp://x", "LEDGER_WITNESS_KEYS": KEY}, "LEDGER_WITNESS_URLS"),
    ({"LEDGER_WITNESS_URLS": "http://x", "LEDGER_WITNESS_KEYS": LOG_KEY}, "LEDGER_WITNESS_KEYS"),
    ({"LEDGER_WITNESS_TIMEOUT_SECONDS": "0"}, "LEDGER_WITNESS_TIMEOUT_SECONDS"),
    # The URL is written to the server log: no credentials in it.
    ({"LEDGER_WITNESS_URLS": "https://u:secret@w.example", "LEDGER_WITNESS_KEYS": KEY},
     "credentials"),
    # One witness listed twice (by URL or by key) would be asked, or counted, twice.
    ({"LEDGER_WITNESS_URLS": "http://a, http://a/", "LEDGER_WITNESS_KEYS": f"{KEY},{KEY2}"},
     "more than once"),
    ({"LEDGER_WITNESS_URLS": "http://a, http://b", "LEDGER_WITNESS_KEYS": f"{KEY},{KEY}"},
     "more than once"),
])
def test_refused(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        Settings.from_env(env)
