"""Which time-stamping authorities the timestamper asks, and how often; read once from the
environment at the entry point (``LEDGER_TSA_*``, README's Configuration table).

No ``LEDGER_TSA_URLS``: no timestamps (the timestamper does not run). With it,
``LEDGER_TSA_CA_FILE`` must name the PEM file of the CA certificates trusted to issue the
authorities' certificates: a token is stored only once it verifies against them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator
from pydantic_settings import NoDecode

from ledger.env_values import EnvSettings, check_service_url, or_default, whole_number

TsaMode = Literal["first", "all"]


def _url_list(value: object) -> object:
    if isinstance(value, str):  # the variable: comma-separated
        return tuple(u.strip() for u in value.split(",") if u.strip())
    return value


def _checked_urls(urls: tuple[str, ...]) -> tuple[str, ...]:
    for url in urls:
        check_service_url(url)
    if len(set(urls)) != len(urls):
        raise ValueError("names one authority twice")
    return urls


class TimestampSettings(EnvSettings):
    """The authorities (in the order they are asked), the trusted CAs and the pacing."""

    urls: Annotated[tuple[str, ...], NoDecode, BeforeValidator(_url_list),
                    AfterValidator(_checked_urls)] = Field((), validation_alias="LEDGER_TSA_URLS")
    ca_file: Annotated[Path | None, or_default(None)] = Field(
        None, validation_alias="LEDGER_TSA_CA_FILE")
    # at most one timestamp per interval: the newest checkpoint when it comes round
    interval_seconds: Annotated[float, BeforeValidator(whole_number(86400))] = Field(
        60.0, validation_alias="LEDGER_TSA_INTERVAL_SECONDS")
    # first: the first authority (in LEDGER_TSA_URLS order) that answers; all: every one
    mode: Annotated[TsaMode, or_default("first")] = Field(
        "first", validation_alias="LEDGER_TSA_MODE")
    timeout_seconds: Annotated[float, BeforeValidator(whole_number(120))] = Field(
        10.0, validation_alias="LEDGER_TSA_TIMEOUT_SECONDS")
    # how long an evidence export waits for a token over its checkpoint before going on
    # without one (saying so in its answer)
    export_wait_seconds: Annotated[float, BeforeValidator(whole_number(60))] = Field(
        3.0, validation_alias="LEDGER_TSA_EXPORT_WAIT_SECONDS")
    # /readyz: not ready once the newest checkpoint has waited this long for a token
    ready_max_age_seconds: Annotated[float, BeforeValidator(whole_number(7 * 86400))] = Field(
        3600.0, validation_alias="LEDGER_TSA_READY_MAX_AGE_SECONDS")
    retry_base_seconds: float = 2.0  # backoff after a failed round: doubles up to the max
    retry_max_seconds: float = 300.0

    @model_validator(mode="after")
    def _ca_for_urls(self) -> TimestampSettings:
        if self.urls and self.ca_file is None:
            raise ValueError("LEDGER_TSA_URLS needs LEDGER_TSA_CA_FILE (the CA certificates "
                             "to trust)")
        return self

    @property
    def enabled(self) -> bool:
        """Whether any authority is configured."""
        return bool(self.urls)

    @classmethod
    def read_env(cls, env: Mapping[str, str]) -> TimestampSettings:
        """Read the LEDGER_TSA_* variables of ``env``; ConfigurationError naming each one at
        fault."""
        return cls.build(cls.env_values(env))
