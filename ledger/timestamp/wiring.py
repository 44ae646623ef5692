"""How the composition root (ledger.bootstrap) builds the timestamp parts from the settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import aiohttp

from ledger.errors import ConfigurationError, InvalidInputError
from ledger.store.log_port import LogStore
from ledger.store.timestamp_port import TimestampStore
from ledger.timestamp.client import TsaClient
from ledger.timestamp.settings import TimestampSettings
from ledger.timestamp.stamper import Stamper
from ledger.timestamp.token import load_roots
from ledger.timestamp.worker import Timestamper


def build_stamper(settings: TimestampSettings, store: TimestampStore,
                  http: Callable[[], aiohttp.ClientSession],
                  now: Callable[[], dt.datetime]) -> Stamper | None:
    """The stamper of ``settings``' authorities, trusting ``LEDGER_TSA_CA_FILE``'s CAs; None
    without authorities; ``now`` is the clock a token's time is checked against.
    ConfigurationError when the CA file cannot be read or holds no certificate."""
    if not settings.enabled or settings.ca_file is None:
        return None
    try:
        roots = load_roots(settings.ca_file.read_bytes())
    except (OSError, InvalidInputError) as e:
        raise ConfigurationError(f"LEDGER_TSA_CA_FILE {settings.ca_file}: {e}") from e
    return Stamper(settings, TsaClient(http), store, roots, now)


def build_timestamper(stamper: Stamper, log: LogStore, store: TimestampStore,
                      now: Callable[[], dt.datetime]) -> Timestamper:
    """The timestamper worker over ``log``'s checkpoints."""
    return Timestamper(stamper, log, store, now)
