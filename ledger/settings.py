"""Settings, read from the environment once at the entry point into a frozen object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ledger.errors import ConfigurationError
from ledger.store.factory import DEFAULT_DATABASE_URL

DEFAULT_LOG_ORIGIN = "handover-ledger.localhost/log"


@dataclass(frozen=True)
class Settings:
    """Everything configurable. ``from_env`` is the only place the environment is read."""

    database_url: str = DEFAULT_DATABASE_URL
    data_dir: Path = Path("./ledger-data")
    log_origin: str = DEFAULT_LOG_ORIGIN
    key_dir: Path = Path("./ledger-data/keys")
    # LEDGER_SEPARATION_OF_DUTIES=strict|off: approvers must hold a role that may approve,
    # and only a case's HR owner waives its mandatory items and closes it.
    separation_of_duties: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None,
                 database: str | None = None) -> Settings:
        """Build settings from ``env`` (default ``os.environ``); ``database`` overrides."""
        env = os.environ if env is None else env
        data_dir = Path(env.get("LEDGER_DATA_DIR", "./ledger-data"))
        default_db = f"sqlite:///{data_dir / 'ledger.db'}"
        return cls(
            database_url=database or env.get("LEDGER_DATABASE_URL", default_db),
            data_dir=data_dir,
            log_origin=env.get("LEDGER_LOG_ORIGIN", DEFAULT_LOG_ORIGIN),
            key_dir=Path(env.get("LEDGER_KEY_DIR", str(data_dir / "keys"))),
            separation_of_duties=_duties(env.get("LEDGER_SEPARATION_OF_DUTIES", "strict")),
        )


def _duties(value: str) -> bool:
    if value not in ("strict", "off"):
        raise ConfigurationError(
            f"LEDGER_SEPARATION_OF_DUTIES must be strict or off, not {value!r}")
    return value == "strict"
