"""Settings, read from the environment once at the entry point into one frozen, validated
object (pydantic-settings: ledger.env_values). Every variable is in README.md's Configuration
table (tests/unit/test_settings.py checks that each one the code reads is there)."""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import holidays
from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, model_validator

from ledger.env_values import EnvSettings, choice, duration, or_default, seconds, whole_number
from ledger.principals import DEFAULT_TOKEN_TTL
from ledger.sign_in_link import DEFAULT_LINK_TTL, MAX_LINK_TTL
from ledger.store.factory import DEFAULT_DATABASE_URL
from ledger.store.timeouts import (
    DEFAULT_ACQUIRE_SECONDS,
    DEFAULT_COMMAND_SECONDS,
    DEFAULT_CONNECT_SECONDS,
    DatabaseTimeouts,
)
from ledger.timestamp.settings import TimestampSettings
from ledger.webhooks.settings import WebhookSettings
from ledger.witness.settings import WitnessSettings
from ledger.workday import DEFAULT_CALENDAR, DEFAULT_TIME_ZONE

DEFAULT_LOG_ORIGIN = "handover-ledger.localhost/log"
DEFAULT_AUTH_FAILURE_LIMIT = 10
DEFAULT_AUTH_FAILURE_WINDOW = 60
DEFAULT_CONSOLE_IDLE = dt.timedelta(minutes=30)
DEFAULT_CONSOLE_LIFETIME = dt.timedelta(hours=12)
DEFAULT_CONSOLE_VERIFY_MB = 256  # web.verify_view.DEFAULT_MAX_BYTES, in MiB
LINK_MINUTES = int(MAX_LINK_TTL.total_seconds()) // 60
MIN_METRICS_TOKEN = 32  # a scrape secret long enough not to be guessed
LogFormat = Literal["json", "text"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def _database_url(value: str) -> str:
    if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ValueError("must be sqlite:///<path> or postgresql://user@host:port/db, not "
                         f"{value.split('://')[0][:20]!r}://…")
    return value


def _replica_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("postgresql://", "postgres://")):
        raise ValueError("must be postgresql://user@host:port/db (a streaming replica), not "
                         f"{value.split('://')[0][:20]!r}://…")
    return value


def _log_origin(value: str) -> str:
    # The checkpoint's first line and the signing key's name (C2SP signed-note): no spaces,
    # no '+', not empty.
    if not value or len(value) > 255 or "+" in value or not value.isprintable() or any(
            c.isspace() for c in value):
        raise ValueError(f"must be a schema-less name like ledger.example.com/log, not "
                         f"{value[:60]!r}")
    return value


def _public_url(value: object) -> object:
    if isinstance(value, str):
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"must start with https:// or http://, not {value[:60]!r}")
        return value.rstrip("/")
    return value


def _time_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"must be an IANA time zone (e.g. Asia/Shanghai), not "
                         f"{value[:60]!r}") from None
    return value


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def _mebibytes(value: object) -> object:
    parsed = whole_number(4096)(value) if isinstance(value, str) else value
    return parsed << 20 if isinstance(parsed, int) and isinstance(value, str) else parsed


def _calendar(value: str) -> str:
    if value not in holidays.list_supported_countries():
        raise ValueError(f"must be a country code the holidays library knows (e.g. CN), not "
                         f"{value[:20]!r}")
    return value


def _metrics_token(value: SecretStr | None) -> SecretStr | None:
    secret = value.get_secret_value() if value is not None else None
    if secret is not None and (len(secret) < MIN_METRICS_TOKEN or len(secret) > 200
                               or not (secret.isascii() and secret.isprintable())
                               or " " in secret):
        raise ValueError(f"must be {MIN_METRICS_TOKEN} to 200 printable ASCII characters "
                         "without spaces (e.g. from `openssl rand -hex 32`)")
    return value


class Settings(EnvSettings):
    """Everything configurable. ``from_env`` is the only place the environment is read."""

    database_url: Annotated[str, AfterValidator(_database_url)] = Field(
        DEFAULT_DATABASE_URL, validation_alias="LEDGER_DATABASE_URL")
    # LEDGER_READ_DATABASE_URL: a PostgreSQL streaming replica of database_url that serves
    # GET requests' reads of boards, inboxes, bundles and the log (docs/scaling.md)
    read_database_url: Annotated[str | None, AfterValidator(_replica_url),
                                 or_default(None)] = Field(
        None, validation_alias="LEDGER_READ_DATABASE_URL")
    # LEDGER_DB_CONNECT_TIMEOUT_SECONDS / _ACQUIRE_ / _COMMAND_: how long a PostgreSQL
    # connection may take to open, a request may wait for a pooled one, and a statement for
    # its answer, before the request gets 503 + Retry-After (a worker backs off and retries);
    # operator commands keep the connect bound only (ledger.store.timeouts)
    db_connect_timeout: Annotated[float, BeforeValidator(seconds(600))] = Field(
        DEFAULT_CONNECT_SECONDS, validation_alias="LEDGER_DB_CONNECT_TIMEOUT_SECONDS")
    db_acquire_timeout: Annotated[float, BeforeValidator(seconds(600))] = Field(
        DEFAULT_ACQUIRE_SECONDS, validation_alias="LEDGER_DB_ACQUIRE_TIMEOUT_SECONDS")
    db_command_timeout: Annotated[float, BeforeValidator(seconds(3600))] = Field(
        DEFAULT_COMMAND_SECONDS, validation_alias="LEDGER_DB_COMMAND_TIMEOUT_SECONDS")
    data_dir: Path = Field(Path("./ledger-data"), validation_alias="LEDGER_DATA_DIR")
    log_origin: Annotated[str, AfterValidator(_log_origin)] = Field(
        DEFAULT_LOG_ORIGIN, validation_alias="LEDGER_LOG_ORIGIN")
    key_dir: Path = Field(Path("./ledger-data/keys"), validation_alias="LEDGER_KEY_DIR")
    token_ttl: Annotated[dt.timedelta, duration(3650, "days")] = Field(
        DEFAULT_TOKEN_TTL, validation_alias="LEDGER_TOKEN_TTL_DAYS")
    auth_failure_limit: Annotated[int, BeforeValidator(whole_number(1_000_000))] = Field(
        DEFAULT_AUTH_FAILURE_LIMIT, validation_alias="LEDGER_AUTH_FAILURE_LIMIT")
    auth_failure_window: Annotated[int, BeforeValidator(whole_number(86400))] = Field(
        DEFAULT_AUTH_FAILURE_WINDOW, validation_alias="LEDGER_AUTH_FAILURE_WINDOW_SECONDS")
    # LEDGER_SIGN_IN_LINK_MINUTES: how long a one-time sign-in link lives unless its issuer
    # asks for less or more; LEDGER_SIGN_IN_LINK_MAX_MINUTES: the most an issuer may ask
    # (both at most 24 h)
    sign_in_link_ttl: Annotated[dt.timedelta, duration(LINK_MINUTES, "minutes")] = Field(
        DEFAULT_LINK_TTL, validation_alias="LEDGER_SIGN_IN_LINK_MINUTES")
    sign_in_link_max_ttl: Annotated[dt.timedelta, duration(LINK_MINUTES, "minutes")] = Field(
        MAX_LINK_TTL, validation_alias="LEDGER_SIGN_IN_LINK_MAX_MINUTES")
    # LEDGER_PUBLIC_URL: where people reach the service (https://ledger.example.com), the
    # base of the sign-in links it hands out; unset, the API uses the request's own origin
    public_url: Annotated[str | None, BeforeValidator(_public_url), or_default(None)] = Field(
        None, validation_alias="LEDGER_PUBLIC_URL")
    # LEDGER_CONSOLE_IDLE_MINUTES / LEDGER_CONSOLE_SESSION_HOURS: a web console session ends
    # after this long without a request, and in any case this long after sign-in
    console_idle_timeout: Annotated[dt.timedelta, duration(7 * 24 * 60, "minutes")] = Field(
        DEFAULT_CONSOLE_IDLE, validation_alias="LEDGER_CONSOLE_IDLE_MINUTES")
    console_session_lifetime: Annotated[dt.timedelta, duration(24 * 90, "hours")] = Field(
        DEFAULT_CONSOLE_LIFETIME, validation_alias="LEDGER_CONSOLE_SESSION_HOURS")
    # LEDGER_CONSOLE_VERIFY_MAX_MB: the largest bundle the console's Verify page checks
    console_verify_max_bytes: Annotated[int, BeforeValidator(_mebibytes)] = Field(
        DEFAULT_CONSOLE_VERIFY_MB << 20, validation_alias="LEDGER_CONSOLE_VERIFY_MAX_MB")
    # None: the database's default (postgres with PostgreSQL, else filesystem)
    blob_store: Annotated[Literal["filesystem", "postgres"] | None, or_default(None)] = Field(
        None, validation_alias="LEDGER_BLOB_STORE")
    # LEDGER_SEPARATION_OF_DUTIES=strict|off: approvers must hold a role that may approve,
    # and only a case's HR owner waives its mandatory items and closes it.
    separation_of_duties: Annotated[bool, choice("strict", "off")] = Field(
        True, validation_alias="LEDGER_SEPARATION_OF_DUTIES")
    # the working-day calendar receivers' deadlines are counted on (a country code of
    # the holidays library; CN knows the 调休 make-up days) and the zone its days begin in
    working_calendar: Annotated[str, or_default(DEFAULT_CALENDAR), AfterValidator(
        _calendar)] = Field(DEFAULT_CALENDAR, validation_alias="LEDGER_WORKING_CALENDAR")
    time_zone: Annotated[str, or_default(DEFAULT_TIME_ZONE), AfterValidator(_time_zone)] = Field(
        DEFAULT_TIME_ZONE, validation_alias="LEDGER_TIME_ZONE")
    # LEDGER_CLOSE_REQUIRES_CONFIRMATION=required|optional: a case closes only once every
    # signatory signed its handover confirmation (交接确认书) as it stands.
    close_requires_confirmation: Annotated[bool, choice("required", "optional")] = Field(
        True, validation_alias="LEDGER_CLOSE_REQUIRES_CONFIRMATION")
    # LEDGER_AUTO_APPLY_CHECKLISTS=on|off: the approval that completes a case's chain applies
    # its role family's checklist and the clearance checklist (seed 001: "系统根据岗位属性…
    # 生成交接清单"); an organisation that assigns checklists by hand turns it off.
    auto_apply_checklists: Annotated[bool, choice("on", "off")] = Field(
        True, validation_alias="LEDGER_AUTO_APPLY_CHECKLISTS")
    # LEDGER_SCHEDULER=on|off: ``ledger serve`` runs the scheduler that records the reminders
    # and escalations its rules say are due (ledger.scheduler)
    scheduler: Annotated[bool, choice("on", "off")] = Field(
        True, validation_alias="LEDGER_SCHEDULER")
    # LEDGER_LOG_FORMAT=json|text, LEDGER_LOG_LEVEL: the server log (ledger.log_format)
    log_format: LogFormat = Field("json", validation_alias="LEDGER_LOG_FORMAT")
    log_level: Annotated[LogLevel, BeforeValidator(_upper)] = Field(
        "INFO", validation_alias="LEDGER_LOG_LEVEL")
    # LEDGER_METRICS_TOKEN: a bearer token that may read /metrics and nothing else (an
    # operator's token may read it too); unset, only operators may
    metrics_token: Annotated[SecretStr | None, or_default(None),
                             AfterValidator(_metrics_token)] = Field(
        None, validation_alias="LEDGER_METRICS_TOKEN")
    # LEDGER_READY_MAX_LAG: a projection further behind the log than this many entries
    # makes /readyz answer 503
    ready_max_lag: Annotated[int, BeforeValidator(whole_number(10_000_000))] = Field(
        10_000, validation_alias="LEDGER_READY_MAX_LAG")
    # LEDGER_WEBHOOK_*: where outbound webhooks may go, timeouts, retries, rotation grace
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    # LEDGER_TSA_*: RFC 3161 time-stamping authorities asked to timestamp checkpoints
    timestamps: TimestampSettings = Field(default_factory=TimestampSettings)
    # LEDGER_WITNESS_*: the witnesses that cosign the log's checkpoints (ledger.witness)
    witnesses: WitnessSettings = Field(default_factory=WitnessSettings)
    # LEDGER_AGGREGATE_CACHE_SIZE: aggregates each process keeps verified in memory (LRU;
    # 0 keeps none)
    aggregate_cache_size: Annotated[int, BeforeValidator(whole_number(10_000_000, 0))] = Field(
        10_000, validation_alias="LEDGER_AGGREGATE_CACHE_SIZE")
    # LEDGER_BOARD_CACHE_SIZE: streams the board projection keeps folded in memory, and
    # items whose last written row it remembers (two LRUs of this many entries each)
    board_cache_size: Annotated[int, BeforeValidator(whole_number(10_000_000, 0))] = Field(
        10_000, validation_alias="LEDGER_BOARD_CACHE_SIZE")

    @model_validator(mode="after")
    def _link_lifetimes(self) -> Settings:
        if self.sign_in_link_ttl > self.sign_in_link_max_ttl:
            minutes = (int(self.sign_in_link_ttl.total_seconds()) // 60,
                       int(self.sign_in_link_max_ttl.total_seconds()) // 60)
            raise ValueError(f"LEDGER_SIGN_IN_LINK_MINUTES ({minutes[0]}) may not exceed "
                             f"LEDGER_SIGN_IN_LINK_MAX_MINUTES ({minutes[1]})")
        return self

    @property
    def database_timeouts(self) -> DatabaseTimeouts:
        """The bounds of the service's waits on PostgreSQL (``for_admin``: an operator's)."""
        return DatabaseTimeouts(self.db_connect_timeout, self.db_acquire_timeout,
                                self.db_command_timeout)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None,
                 database: str | None = None) -> Settings:
        """Build settings from ``env`` (default ``os.environ``); ``database`` overrides.
        ConfigurationError naming each variable at fault."""
        env = os.environ if env is None else env
        values = cls.env_values(env)
        data_dir = Path(values.get("LEDGER_DATA_DIR", "./ledger-data"))
        values.setdefault("LEDGER_DATABASE_URL", f"sqlite:///{data_dir / 'ledger.db'}")
        values.setdefault("LEDGER_KEY_DIR", str(data_dir / "keys"))
        if database:
            values["LEDGER_DATABASE_URL"] = database
        values["webhooks"] = WebhookSettings.read_env(env)
        values["timestamps"] = TimestampSettings.read_env(env)
        values["witnesses"] = WitnessSettings.read_env(env)
        return cls.build(values)
