"""The console's session limits come from the environment once, like every setting."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger.errors import ConfigurationError
from ledger.settings import Settings


def test_console_sessions_default_to_thirty_idle_minutes_and_twelve_hours() -> None:
    settings = Settings.from_env({})
    assert settings.console_idle_timeout == dt.timedelta(minutes=30)
    assert settings.console_session_lifetime == dt.timedelta(hours=12)


def test_console_session_limits_are_read_from_the_environment() -> None:
    settings = Settings.from_env({"LEDGER_CONSOLE_IDLE_MINUTES": "5",
                                  "LEDGER_CONSOLE_SESSION_HOURS": "2"})
    assert settings.console_idle_timeout == dt.timedelta(minutes=5)
    assert settings.console_session_lifetime == dt.timedelta(hours=2)


@pytest.mark.parametrize("value", ["0", "-1", "ten", "99999999"])
def test_a_bad_console_limit_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigurationError, match="LEDGER_CONSOLE_IDLE_MINUTES"):
        Settings.from_env({"LEDGER_CONSOLE_IDLE_MINUTES": value})


def test_the_verify_pages_bundle_bound_defaults_to_the_checkers_and_is_read_in_mib() -> None:
    from web.verify_view import DEFAULT_MAX_BYTES

    assert Settings.from_env({}).console_verify_max_bytes == DEFAULT_MAX_BYTES
    read = Settings.from_env({"LEDGER_CONSOLE_VERIFY_MAX_MB": "8"})
    assert read.console_verify_max_bytes == 8 << 20
    with pytest.raises(ConfigurationError, match="LEDGER_CONSOLE_VERIFY_MAX_MB"):
        Settings.from_env({"LEDGER_CONSOLE_VERIFY_MAX_MB": "0"})
