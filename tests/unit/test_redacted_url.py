"""A database URL in a message never shows a user, a password or a password in its query."""

from __future__ import annotations

import pytest

from ledger.store.factory import redacted_url


@pytest.mark.parametrize(("url", "shown"), [
    ("sqlite:///./ledger-data/ledger.db", "sqlite:///./ledger-data/ledger.db"),
    ("postgresql://ledger:s3cret@db:5432/ledger", "postgresql://…@db:5432/ledger"),
    ("postgresql://ledger:p@ss@db/ledger", "postgresql://…@db/ledger"),
    ("postgresql://ledger:p/a@ss@db/ledger?sslmode=require", "postgresql://…@db/ledger?…"),
    ("postgresql://ledger:p?a@ss@db/ledger", "postgresql://…@db/ledger"),
    ("postgresql://db/ledger?application_name=ops@x&password=s3cret", "postgresql://…"),
    ("postgresql://db/ledger?pass%77ord=s3cret", "postgresql://db/ledger?…"),
    ("postgresql://db/ledger?user=x&password=s3cret", "postgresql://db/ledger?…"),
    ("postgres://db/ledger?sslpassword=s3cret", "postgres://db/ledger?…"),
    ("postgresql://ledger@127.0.0.1/ledger", "postgresql://…@127.0.0.1/ledger"),
])
def test_a_url_is_shown_without_its_secrets(url: str, shown: str) -> None:
    assert redacted_url(url) == shown
    for secret in ("s3cret", "p@ss", "p/a", "p?a"):
        assert secret not in redacted_url(url)
