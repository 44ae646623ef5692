"""Settings, read from the environment once at the entry point into a frozen object."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ledger.env_values import count as count_from_zero
from ledger.env_values import positive_int
from ledger.errors import ConfigurationError
from ledger.principals import DEFAULT_TOKEN_TTL
from ledger.sign_in_link import DEFAULT_LINK_TTL, MAX_LINK_TTL
from ledger.store.factory import DEFAULT_DATABASE_URL
from ledger.webhooks.settings import WebhookSettings
from ledger.workday import DEFAULT_CALENDAR, DEFAULT_TIME_ZONE

DEFAULT_LOG_ORIGIN = "handover-ledger.localhost/log"
DEFAULT_AUTH_FAILURE_LIMIT = 10
DEFAULT_AUTH_FAILURE_WINDOW = 60
DEFAULT_CONSOLE_IDLE = dt.timedelta(minutes=30)
DEFAULT_CONSOLE_LIFETIME = dt.timedelta(hours=12)
DEFAULT_CONSOLE_VERIFY_MB = 256  # web.verify_view.DEFAULT_MAX_BYTES, in MiB


@dataclass(frozen=True)
class Settings:
    """Everything configurable. ``from_env`` is the only place the environment is read."""

    database_url: str = DEFAULT_DATABASE_URL
    # LEDGER_READ_DATABASE_URL: a PostgreSQL streaming replica of database_url that serves
    # GET requests' reads of boards, inboxes, bundles and the log (docs/scaling.md)
    read_database_url: str | None = None
    data_dir: Path = Path("./ledger-data")
    log_origin: str = DEFAULT_LOG_ORIGIN
    key_dir: Path = Path("./ledger-data/keys")
    token_ttl: dt.timedelta = DEFAULT_TOKEN_TTL
    auth_failure_limit: int = DEFAULT_AUTH_FAILURE_LIMIT
    auth_failure_window: int = DEFAULT_AUTH_FAILURE_WINDOW
    # LEDGER_SIGN_IN_LINK_MINUTES: how long a one-time sign-in link lives unless its issuer
    # asks for less or more; LEDGER_SIGN_IN_LINK_MAX_MINUTES: the most an issuer may ask
    # (both at most 24 h)
    sign_in_link_ttl: dt.timedelta = DEFAULT_LINK_TTL
    sign_in_link_max_ttl: dt.timedelta = MAX_LINK_TTL
    # LEDGER_PUBLIC_URL: where people reach the service (https://ledger.example.com), the
    # base of the sign-in links it hands out; unset, the API uses the request's own origin
    public_url: str | None = None
    # LEDGER_CONSOLE_IDLE_MINUTES / LEDGER_CONSOLE_SESSION_HOURS: a web console session ends
    # after this long without a request, and in any case this long after sign-in
    console_idle_timeout: dt.timedelta = DEFAULT_CONSOLE_IDLE
    console_session_lifetime: dt.timedelta = DEFAULT_CONSOLE_LIFETIME
    # LEDGER_CONSOLE_VERIFY_MAX_MB: the largest bundle the console's Verify page checks
    console_verify_max_bytes: int = DEFAULT_CONSOLE_VERIFY_MB << 20
    blob_store: str | None = None  # "filesystem" | "postgres"; None: the database's default
    # LEDGER_SEPARATION_OF_DUTIES=strict|off: approvers must hold a role that may approve,
    # and only a case's HR owner waives its mandatory items and closes it.
    separation_of_duties: bool = True
    # the working-day calendar receivers' deadlines are counted on (a country code of
    # the holidays library; CN knows the 调休 make-up days) and the zone its days begin in
    working_calendar: str = DEFAULT_CALENDAR
    time_zone: str = DEFAULT_TIME_ZONE
    # LEDGER_CLOSE_REQUIRES_CONFIRMATION=required|optional: a case closes only once every
    # signatory signed its handover confirmation (交接确认书) as it stands.
    close_requires_confirmation: bool = True
    # LEDGER_AUTO_APPLY_CHECKLISTS=on|off: the approval that completes a case's chain applies
    # its role family's checklist and the clearance checklist (seed 001: "系统根据岗位属性…
    # 生成交接清单"); an organisation that assigns checklists by hand turns it off.
    auto_apply_checklists: bool = True
    # LEDGER_SCHEDULER=on|off: ``ledger serve`` runs the scheduler that records the reminders
    # and escalations its rules say are due (ledger.scheduler)
    scheduler: bool = True
    # LEDGER_WEBHOOK_*: where outbound webhooks may go, timeouts, retries, rotation grace
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    # LEDGER_AGGREGATE_CACHE_SIZE: aggregates each process keeps verified in memory (LRU)
    aggregate_cache_size: int = 20_000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None,
                 database: str | None = None) -> Settings:
        """Build settings from ``env`` (default ``os.environ``); ``database`` overrides."""
        env = os.environ if env is None else env
        settings = cls._read(env, database)
        if settings.sign_in_link_ttl > settings.sign_in_link_max_ttl:
            raise ConfigurationError("LEDGER_SIGN_IN_LINK_MINUTES may not exceed "
                                     "LEDGER_SIGN_IN_LINK_MAX_MINUTES")
        return settings

    @classmethod
    def _read(cls, env: Mapping[str, str], database: str | None) -> Settings:
        data_dir = Path(env.get("LEDGER_DATA_DIR", "./ledger-data"))
        default_db = f"sqlite:///{data_dir / 'ledger.db'}"
        return cls(
            database_url=database or env.get("LEDGER_DATABASE_URL", default_db),
            read_database_url=env.get("LEDGER_READ_DATABASE_URL") or None,
            data_dir=data_dir,
            log_origin=env.get("LEDGER_LOG_ORIGIN", DEFAULT_LOG_ORIGIN),
            key_dir=Path(env.get("LEDGER_KEY_DIR", str(data_dir / "keys"))),
            token_ttl=dt.timedelta(days=positive_int(
                env, "LEDGER_TOKEN_TTL_DAYS", DEFAULT_TOKEN_TTL.days, 3650)),
            auth_failure_limit=positive_int(
                env, "LEDGER_AUTH_FAILURE_LIMIT", DEFAULT_AUTH_FAILURE_LIMIT, 1_000_000),
            auth_failure_window=positive_int(
                env, "LEDGER_AUTH_FAILURE_WINDOW_SECONDS", DEFAULT_AUTH_FAILURE_WINDOW, 86400),
            sign_in_link_ttl=_minutes(env, "LEDGER_SIGN_IN_LINK_MINUTES", DEFAULT_LINK_TTL),
            sign_in_link_max_ttl=_minutes(env, "LEDGER_SIGN_IN_LINK_MAX_MINUTES", MAX_LINK_TTL),
            public_url=_public_url(env.get("LEDGER_PUBLIC_URL") or None),
            console_idle_timeout=dt.timedelta(minutes=positive_int(
                env, "LEDGER_CONSOLE_IDLE_MINUTES", 30, 7 * 24 * 60)),
            console_session_lifetime=dt.timedelta(hours=positive_int(
                env, "LEDGER_CONSOLE_SESSION_HOURS", 12, 24 * 90)),
            console_verify_max_bytes=positive_int(
                env, "LEDGER_CONSOLE_VERIFY_MAX_MB", DEFAULT_CONSOLE_VERIFY_MB, 4096) << 20,
            blob_store=env.get("LEDGER_BLOB_STORE") or None,
            separation_of_duties=_duties(env.get("LEDGER_SEPARATION_OF_DUTIES", "strict")),
            working_calendar=env.get("LEDGER_WORKING_CALENDAR") or DEFAULT_CALENDAR,
            time_zone=env.get("LEDGER_TIME_ZONE") or DEFAULT_TIME_ZONE,
            close_requires_confirmation=_confirmation(
                env.get("LEDGER_CLOSE_REQUIRES_CONFIRMATION", "required")),
            auto_apply_checklists=_on_off(env, "LEDGER_AUTO_APPLY_CHECKLISTS", "on"),
            scheduler=_on_off(env, "LEDGER_SCHEDULER", "on"),
            webhooks=WebhookSettings.from_env(env),
            aggregate_cache_size=count_from_zero(env, "LEDGER_AGGREGATE_CACHE_SIZE", 20_000, 10**7),
        )


def _minutes(env: Mapping[str, str], name: str, default: dt.timedelta) -> dt.timedelta:
    most = int(MAX_LINK_TTL.total_seconds()) // 60
    return dt.timedelta(minutes=positive_int(env, name, int(default.total_seconds()) // 60,
                                             most))


def _public_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("https://", "http://")):
        raise ConfigurationError(f"LEDGER_PUBLIC_URL must start with https:// or http://, "
                                 f"not {value!r}")
    return value.rstrip("/") if value else None


def _duties(value: str) -> bool:
    if value not in ("strict", "off"):
        raise ConfigurationError(
            f"LEDGER_SEPARATION_OF_DUTIES must be strict or off, not {value!r}")
    return value == "strict"


def _confirmation(value: str) -> bool:
    if value not in ("required", "optional"):
        raise ConfigurationError(
            f"LEDGER_CLOSE_REQUIRES_CONFIRMATION must be required or optional, not {value!r}")
    return value == "required"


def _on_off(env: Mapping[str, str], name: str, default: str) -> bool:
    value = env.get(name, default)
    if value not in ("on", "off"):
        raise ConfigurationError(f"{name} must be on or off, not {value!r}")
    return value == "on"
