"""LEDGER_TSA_*: read typed, refused by name when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.errors import ConfigurationError
from ledger.settings import Settings


def test_the_tsa_variables_are_read_typed() -> None:
    settings = Settings.from_env({
        "LEDGER_TSA_URLS": "https://tsa.example.com/, http://127.0.0.1:3180/tsr",
        "LEDGER_TSA_CA_FILE": "/etc/ledger/tsa-ca.pem", "LEDGER_TSA_MODE": "all",
        "LEDGER_TSA_INTERVAL_SECONDS": "300", "LEDGER_TSA_EXPORT_WAIT_SECONDS": "5"})
    stamping = settings.timestamps
    assert stamping.urls == ("https://tsa.example.com/", "http://127.0.0.1:3180/tsr")
    assert stamping.ca_file == Path("/etc/ledger/tsa-ca.pem") and stamping.enabled
    assert (stamping.mode, stamping.interval_seconds, stamping.export_wait_seconds) == (
        "all", 300, 5)
    assert not Settings.from_env({}).timestamps.enabled


@pytest.mark.parametrize(("env", "said"), [
    ({"LEDGER_TSA_URLS": "https://tsa.example.com/"}, "LEDGER_TSA_URLS needs LEDGER_TSA_CA_FILE"),
    ({"LEDGER_TSA_URLS": "ftp://tsa.example.com/", "LEDGER_TSA_CA_FILE": "/x.pem"},
     "LEDGER_TSA_URLS 'ftp://tsa.example.com/' is not an http"),
    ({"LEDGER_TSA_URLS": "http://a/,http://a/", "LEDGER_TSA_CA_FILE": "/x.pem"},
     "names one authority twice"),
    # The URL is published (bundle manifests, GET /log/checkpoint/{size}/timestamps): a
    # password in it would be too.
    ({"LEDGER_TSA_URLS": "https://user:secret@tsa.example.com/", "LEDGER_TSA_CA_FILE": "/x.pem"},
     "credentials"),
    ({"LEDGER_TSA_MODE": "some"}, "LEDGER_TSA_MODE"),
    ({"LEDGER_TSA_INTERVAL_SECONDS": "0"}, "LEDGER_TSA_INTERVAL_SECONDS must be a whole number"),
])
def test_a_wrong_tsa_variable_is_refused_by_name(env: dict[str, str], said: str) -> None:
    with pytest.raises(ConfigurationError, match=said):
        Settings.from_env(env)
