"""Sign-in link secrets, their states and their settings (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger.errors import ConfigurationError
from ledger.principals import TOKEN_PREFIX
from ledger.settings import Settings
from ledger.sign_in_link import (
    LINK_PREFIX,
    SignInLinkInfo,
    hash_link_secret,
    new_link_secret,
    plausible_link_secret,
    privileged_roles,
    sign_in_link_url,
)

T0 = dt.datetime(2026, 12, 6, 8, 0, tzinfo=dt.UTC)


def test_a_link_secret_is_random_prefixed_apart_from_tokens_and_stored_as_its_hash() -> None:
    (first, first_hash), (second, _) = new_link_secret(), new_link_secret()
    assert first.startswith(LINK_PREFIX) and not first.startswith(TOKEN_PREFIX)
    assert LINK_PREFIX != TOKEN_PREFIX and first != second and len(first) == 4 + 43
    assert first_hash == hash_link_secret(first) and len(first_hash) == 32
    assert plausible_link_secret(first)
    for bad in ("", "hl_abc", "hll_" + "x" * 200, "hll_密", "hll_a\nb"):
        assert not plausible_link_secret(bad), bad


def test_a_link_is_unused_until_it_is_used_revoked_or_expired() -> None:
    link = SignInLinkInfo("0" * 16, "wang.lei", "hr.sun", "hr", T0, T0 + dt.timedelta(30))
    assert link.state_at(T0) == "unused"
    assert link.state_at(link.expires_at) == "expired"
    used = SignInLinkInfo(**{**link.__dict__, "used_at": T0, "revoked": True})
    assert used.state_at(link.expires_at) == "used"
    assert SignInLinkInfo(**{**link.__dict__, "revoked": True}).state_at(T0) == "revoked"


def test_privileged_roles_are_named_and_the_url_is_the_consoles_page() -> None:
    assert privileged_roles(("employee",)) == []
    assert privileged_roles(("employee", "hr", "legal")) == ["hr", "legal"]
    # the department roles work their queue across every case: more than a leaver's access
    assert privileged_roles(("it", "finance", "admin")) == ["it", "finance", "admin"]
    assert sign_in_link_url("https://l.example/", "hll_x") == (
        "https://l.example/console/sign-in/link/hll_x")


def test_link_lifetimes_come_from_the_environment_within_a_day() -> None:
    default = Settings.from_env({})
    assert (default.sign_in_link_ttl, default.sign_in_link_max_ttl) == (
        dt.timedelta(minutes=30), dt.timedelta(hours=24))
    assert default.public_url is None
    chosen = Settings.from_env({"LEDGER_SIGN_IN_LINK_MINUTES": "10",
                                "LEDGER_SIGN_IN_LINK_MAX_MINUTES": "60",
                                "LEDGER_PUBLIC_URL": "https://ledger.example.com/"})
    assert (chosen.sign_in_link_ttl, chosen.sign_in_link_max_ttl, chosen.public_url) == (
        dt.timedelta(minutes=10), dt.timedelta(hours=1), "https://ledger.example.com")
    for env, named in (({"LEDGER_SIGN_IN_LINK_MINUTES": "1441"}, "LEDGER_SIGN_IN_LINK_MINUTES"),
                       ({"LEDGER_SIGN_IN_LINK_MAX_MINUTES": "0"}, "MAX_MINUTES"),
                       ({"LEDGER_SIGN_IN_LINK_MINUTES": "90",
                         "LEDGER_SIGN_IN_LINK_MAX_MINUTES": "60"}, "may not exceed"),
                       ({"LEDGER_PUBLIC_URL": "ledger.example.com"}, "LEDGER_PUBLIC_URL")):
        with pytest.raises(ConfigurationError, match=named):
            Settings.from_env(env)
