"""The base of every settings object: pydantic-settings reading the ``LEDGER_*`` variables of
one mapping (the process environment at the entry point, a dict in tests), and the value
parsers the settings share.

Each field names its variable as its validation alias; a field may also be given by name
(``Settings(data_dir=...)``, as tests and benchmarks do), which reads no environment at all.
Every invalid value becomes one ``ConfigurationError`` naming each variable at fault.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, Self

from pydantic import BeforeValidator, ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource

from ledger.errors import ConfigurationError


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._given = env
        super().__init__(settings_cls, case_sensitive=True)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k: v for k, v in self._given.items() if k.startswith("LEDGER_")}


class EnvSettings(BaseSettings):
    """Frozen settings read from a mapping by ``read_env``; keyword construction reads none."""

    model_config = {"frozen": True, "case_sensitive": True, "validate_by_name": True,
                    "validate_by_alias": True, "extra": "forbid", "env_prefix": "LEDGER_"}

    @classmethod
    def settings_customise_sources(
            cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only what the caller passes: the environment is read once, by ``read_env`` at the
        # entry point, never behind the back of a test that builds settings by keyword.
        return (init_settings,)

    @classmethod
    def env_values(cls, env: Mapping[str, str]) -> dict[str, Any]:
        """The ``LEDGER_*`` variables of ``env`` this class reads, keyed by variable name."""
        return dict(_MappingSource(cls, env)())

    @classmethod
    def build(cls, values: Mapping[str, Any]) -> Self:
        """Validate ``values``; ConfigurationError naming every variable at fault."""
        try:
            return cls(**values)
        except ValidationError as e:
            raise ConfigurationError(describe(e)) from None


def describe(error: ValidationError) -> str:
    """One line per invalid setting: the variable, then what is wrong (no value beyond what
    the message itself quotes, so a mistyped secret is not echoed whole)."""
    lines = []
    for problem in error.errors(include_url=False, include_input=False):
        name = ".".join(str(p) for p in problem["loc"]) or "settings"
        message = problem["msg"].removeprefix("Value error, ")
        if not message.startswith("LEDGER_"):  # a variable's name keeps its case
            message = message[:1].lower() + message[1:]
        lines.append(f"{name} {message}" if name != "settings" else message)
    return "; ".join(lines)


def or_default(default: object) -> BeforeValidator:
    """A variable whose empty value means its default (a URL, a choice of store, a zone).
    Place it last among a field's before-validators: pydantic runs them right to left."""
    return BeforeValidator(lambda value: default if value == "" else value)


def whole_number(most: int, least: int = 1) -> Callable[[object], object]:
    """A variable holding a whole number from ``least`` to ``most`` (a value given in code
    passes)."""
    def parse(value: object) -> object:
        if not isinstance(value, str):
            return value
        if not value.isascii() or not value.isdigit() or not least <= int(value) <= most:
            raise ValueError(f"must be a whole number from {least} to {most}, "
                             f"not {value[:40]!r}")
        return int(value)
    return parse


def seconds(most: float) -> Callable[[object], object]:
    """A variable holding a number of seconds above 0 and at most ``most``, decimals allowed
    (``2``, ``0.5``; a value given in code passes)."""
    def parse(value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            parsed = float(value) if value.isascii() and "_" not in value else None
        except ValueError:
            parsed = None
        if parsed is None or not 0 < parsed <= most:  # also refuses nan and inf
            raise ValueError(f"must be a number of seconds above 0 and at most {most:g}, "
                             f"not {value[:40]!r}")
        return parsed
    return parse


def duration(most: int, unit: str) -> BeforeValidator:
    """A variable holding a whole number of ``unit`` (days, hours, minutes, seconds), from 1
    to ``most``, read as a timedelta (a timedelta given in code passes)."""
    number = whole_number(most)

    def parse(value: object) -> object:
        parsed = number(value)
        return dt.timedelta(**{unit: parsed}) if isinstance(parsed, int) else parsed
    return BeforeValidator(parse)


def choice(on: str, off: str) -> BeforeValidator:
    """A variable that is ``on`` (True) or ``off`` (False) (a bool given in code passes)."""
    def parse(value: object) -> object:
        if not isinstance(value, str):
            return value
        if value not in (on, off):
            raise ValueError(f"must be {on} or {off}, not {value[:40]!r}")
        return value == on
    return BeforeValidator(parse)


def check_service_url(url: str) -> None:
    """ValueError unless ``url`` is an http:// or https:// URL without whitespace and without
    credentials (``user:password@``): service URLs are logged and, for TSAs, published."""
    if not url.startswith(("https://", "http://")) or any(c.isspace() for c in url):
        raise ValueError(f"{url[:80]!r} is not an http:// or https:// URL")
    if "@" in urllib.parse.urlsplit(url).netloc:
        raise ValueError("a URL must not carry credentials (user:password@): it is logged and "
                         "published")
