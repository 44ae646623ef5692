"""Which witnesses the log asks for cosignatures, read once from the environment.

``LEDGER_WITNESS_URLS`` lists the witnesses' submission prefixes (``POST <url>/add-checkpoint``)
and ``LEDGER_WITNESS_KEYS`` their verifier keys (C2SP vkeys of signature type 0x04, as
``ledger witness`` prints them), both comma-separated and in the same order: the n-th key is
the n-th witness's. A cosignature by any other key is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Self

from pydantic import AfterValidator, BeforeValidator, Field, model_validator
from pydantic_settings import NoDecode

from ledger.env_values import EnvSettings, check_service_url, whole_number
from ledger.witness.cosignature import WitnessKey, parse_witness_vkey


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        return tuple(a.strip() for a in value.split(",") if a.strip())
    return value


def _urls(urls: tuple[str, ...]) -> tuple[str, ...]:
    for url in urls:
        check_service_url(url)
    stripped = tuple(u.rstrip("/") for u in urls)
    if len(set(stripped)) != len(stripped):
        raise ValueError("a witness URL is listed more than once")
    return stripped


def _keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    for key in keys:
        try:
            parse_witness_vkey(key)
        except Exception as e:  # the parser's message names what is wrong
            raise ValueError(str(e)) from None
    if len({parse_witness_vkey(k).label for k in keys}) != len(keys):
        raise ValueError("a witness key is listed more than once")
    return keys


class WitnessSettings(EnvSettings):
    """The witnesses a log submits its checkpoints to, and how long it waits for each."""

    urls: Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_list),
                    AfterValidator(_urls)] = Field((), validation_alias="LEDGER_WITNESS_URLS")
    keys: Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_list),
                    AfterValidator(_keys)] = Field((), validation_alias="LEDGER_WITNESS_KEYS")
    timeout_seconds: Annotated[float, BeforeValidator(whole_number(120))] = Field(
        10.0, validation_alias="LEDGER_WITNESS_TIMEOUT_SECONDS")
    retry_max_seconds: float = 300.0

    @model_validator(mode="after")
    def _paired(self) -> Self:
        if len(self.urls) != len(self.keys):
            raise ValueError(f"LEDGER_WITNESS_URLS names {len(self.urls)} witnesses but "
                             f"LEDGER_WITNESS_KEYS {len(self.keys)} keys: give one key per URL")
        return self

    @classmethod
    def read_env(cls, env: Mapping[str, str]) -> WitnessSettings:
        """Read the LEDGER_WITNESS_* variables of ``env``; ConfigurationError naming each
        one at fault."""
        return cls.build(cls.env_values(env))

    def witnesses(self) -> list[tuple[str, WitnessKey]]:
        """(submission URL, verifier key) of each configured witness."""
        return [(url, parse_witness_vkey(key)) for url, key in zip(self.urls, self.keys,
                                                                   strict=True)]
