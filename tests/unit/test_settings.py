"""Settings: one pydantic-settings object read from the environment at the entry point, every
invalid variable refused by name, and every variable the code reads in README's table."""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from ledger.errors import ConfigurationError
from ledger.log_format import JsonFormatter, TextFormatter, fields, redact
from ledger.settings import Settings
from ledger.store.timeouts import DatabaseTimeouts
from ledger.webhooks.settings import WebhookSettings

ROOT = Path(__file__).resolve().parents[2]
SCRAPE = "f" * 32

INVALID = [
    ("LEDGER_DATABASE_URL", "mysql://root:pw@db/ledger", "sqlite:///<path> or postgresql"),
    ("LEDGER_LOG_ORIGIN", "ledger example", "schema-less name"),
    ("LEDGER_LOG_ORIGIN", "a+b/log", "schema-less name"),
    ("LEDGER_TOKEN_TTL_DAYS", "0", "from 1 to 3650"),
    ("LEDGER_TOKEN_TTL_DAYS", "ninety", "from 1 to 3650"),
    ("LEDGER_AUTH_FAILURE_LIMIT", "-3", "whole number"),
    ("LEDGER_AUTH_FAILURE_WINDOW_SECONDS", "86401", "from 1 to 86400"),
    ("LEDGER_SIGN_IN_LINK_MINUTES", "1441", "from 1 to 1440"),
    ("LEDGER_SIGN_IN_LINK_MAX_MINUTES", "1.5", "whole number"),
    ("LEDGER_PUBLIC_URL", "ledger.example.com", "https:// or http://"),
    ("LEDGER_CONSOLE_IDLE_MINUTES", "0", "whole number"),
    ("LEDGER_CONSOLE_SESSION_HOURS", "99999", "from 1 to 2160"),
    ("LEDGER_CONSOLE_VERIFY_MAX_MB", "4097", "from 1 to 4096"),
    ("LEDGER_BLOB_STORE", "s3", "'filesystem' or 'postgres'"),
    ("LEDGER_SEPARATION_OF_DUTIES", "on", "strict or off"),
    ("LEDGER_WORKING_CALENDAR", "XX", "holidays library"),
    ("LEDGER_TIME_ZONE", "Mars/Olympus", "IANA time zone"),
    ("LEDGER_CLOSE_REQUIRES_CONFIRMATION", "yes", "required or optional"),
    ("LEDGER_AUTO_APPLY_CHECKLISTS", "true", "on or off"),
    ("LEDGER_SCHEDULER", "1", "on or off"),
    ("LEDGER_LOG_FORMAT", "xml", "'json' or 'text'"),
    ("LEDGER_LOG_LEVEL", "loud", "'DEBUG'"),
    ("LEDGER_METRICS_TOKEN", "short", "32 to 200"),
    ("LEDGER_METRICS_TOKEN", "x" * 31 + " y", "32 to 200"),
    ("LEDGER_READY_MAX_LAG", "0", "whole number"),
    ("LEDGER_WEBHOOK_ALLOW", "hooks.example.com, not a host", "neither a host pattern"),
    ("LEDGER_WEBHOOK_MAX_ATTEMPTS", "101", "from 1 to 100"),
    ("LEDGER_WEBHOOK_TIMEOUT_SECONDS", "0", "from 1 to 120"),
    ("LEDGER_WEBHOOK_ROTATION_GRACE_HOURS", "721", "from 1 to 720"),
    ("LEDGER_DB_CONNECT_TIMEOUT_SECONDS", "0", "above 0 and at most 600"),
    ("LEDGER_DB_ACQUIRE_TIMEOUT_SECONDS", "5s", "number of seconds"),
    ("LEDGER_DB_COMMAND_TIMEOUT_SECONDS", "nan", "number of seconds"),
    ("LEDGER_DB_COMMAND_TIMEOUT_SECONDS", "-1", "above 0 and at most 3600"),
]


@pytest.mark.parametrize(("name", "value", "said"), INVALID)
def test_an_invalid_variable_is_refused_naming_it(name: str, value: str, said: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(name)) as refused:
        Settings.from_env({name: value})
    assert said in str(refused.value)


def test_every_invalid_variable_is_named_at_once() -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env({"LEDGER_SCHEDULER": "maybe", "LEDGER_TOKEN_TTL_DAYS": "0",
                           "LEDGER_LOG_FORMAT": "xml"})
    assert all(n in str(refused.value) for n in (
        "LEDGER_SCHEDULER", "LEDGER_TOKEN_TTL_DAYS", "LEDGER_LOG_FORMAT"))


def test_a_refused_metrics_token_is_not_echoed() -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env({"LEDGER_METRICS_TOKEN": "my-secret-but-short"})
    assert "my-secret" not in str(refused.value)


def test_values_are_read_typed_and_defaults_follow_the_data_folder() -> None:
    settings = Settings.from_env({
        "LEDGER_DATA_DIR": "/srv/ledger", "LEDGER_TOKEN_TTL_DAYS": "7",
        "LEDGER_LOG_FORMAT": "text", "LEDGER_LOG_LEVEL": "debug",
        "LEDGER_METRICS_TOKEN": SCRAPE, "LEDGER_READY_MAX_LAG": "50",
        "LEDGER_WEBHOOK_ALLOW": "hooks.example.com, 10.0.0.0/8",
        "LEDGER_WEBHOOK_ROTATION_GRACE_HOURS": "2", "LEDGER_PUBLIC_URL": "",
        "OTHER": "ignored"})
    assert settings.database_url == "sqlite:////srv/ledger/ledger.db"
    assert settings.key_dir == Path("/srv/ledger/keys")
    assert settings.token_ttl == dt.timedelta(days=7)
    assert (settings.log_format, settings.log_level) == ("text", "DEBUG")
    assert settings.metrics_token == SecretStr(SCRAPE)
    assert SCRAPE not in repr(settings)
    assert settings.ready_max_lag == 50
    assert settings.public_url is None
    assert settings.webhooks.allow == ("hooks.example.com", "10.0.0.0/8")
    assert settings.webhooks.rotation_grace_seconds == 7200.0
    assert Settings.from_env({}, database="postgresql://l@h/d").database_url == (
        "postgresql://l@h/d")


def test_settings_built_in_code_read_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_SCHEDULER", "off")
    monkeypatch.setenv("LEDGER_WEBHOOK_MAX_ATTEMPTS", "3")
    assert Settings(database_url="sqlite:///x.db").scheduler is True
    assert WebhookSettings().max_attempts == 20
    assert Settings.from_env().scheduler is False  # the entry point's read
    with pytest.raises(Exception, match="frozen"):
        Settings().scheduler = False  # type: ignore[misc]


def _variables_in_code() -> set[str]:
    found = set()
    for folder in ("ledger", "api", "web", "scripts"):
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(re.findall(r"""["'](LEDGER_[A-Z0-9_]+)["']""", path.read_text()))
    return found


def _variables_of(model: type[Settings] | type[WebhookSettings]) -> set[str]:
    return {str(f.validation_alias) for f in model.model_fields.values()
            if f.validation_alias is not None}


def test_every_variable_the_code_reads_is_in_the_readme_configuration_table() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    table = {name for line in section.splitlines() if line.startswith("| `LEDGER_")
             for name in re.findall(r"`(LEDGER_[A-Z0-9_]+)`", line.split(" | ")[0])}
    read = _variables_in_code() | _variables_of(Settings) | _variables_of(WebhookSettings)
    assert "LEDGER_WEBHOOK_ALLOW" in read and "LEDGER_METRICS_TOKEN" in read
    assert read - table == set(), "add these to README.md's Configuration table"
    assert table - read == set(), "README.md's Configuration table names variables no code reads"


def test_log_lines_carry_fields_and_never_a_token_or_link_secret() -> None:
    token, link = "hl_" + "A1b2" * 11, "hll_" + "Zz9-" * 11
    record = logging.LogRecord("ledger.test", logging.INFO, __file__, 1,
                               "issued %s", (token,), None)
    record.__dict__.update(fields(route="/console/sign-in/link/{secret}", link=link))
    line = JsonFormatter().format(record)
    assert token not in line and link not in line
    assert '"route": "/console/sign-in/link/{secret}"' in line
    assert "hl_[redacted]" in line and "hll_[redacted]" in line
    assert token not in TextFormatter().format(record)
    assert redact("Bearer hl_short") == "Bearer hl_short"  # no secret: too short to be one


def test_database_timeouts_are_read_as_seconds_and_an_operator_keeps_only_connect() -> None:
    settings = Settings.from_env({"LEDGER_DB_CONNECT_TIMEOUT_SECONDS": "2",
                                  "LEDGER_DB_ACQUIRE_TIMEOUT_SECONDS": "0.5",
                                  "LEDGER_DB_COMMAND_TIMEOUT_SECONDS": "30"})
    assert settings.database_timeouts == DatabaseTimeouts(2.0, 0.5, 30.0)
    assert settings.database_timeouts.for_admin() == DatabaseTimeouts(2.0, None, None)
    assert Settings.from_env({}).database_timeouts == DatabaseTimeouts()
