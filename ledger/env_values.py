"""Reading one setting from the environment, shared by every settings object."""

from __future__ import annotations

from collections.abc import Mapping

from ledger.errors import ConfigurationError


def positive_int(env: Mapping[str, str], name: str, default: int, most: int) -> int:
    """``env[name]`` as a whole number from 1 to ``most`` (``default`` when unset);
    ConfigurationError naming the variable otherwise."""
    raw = env.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= most:
        raise ConfigurationError(f"{name} must be a whole number from 1 to {most}, not {raw!r}")
    return int(raw)


def count(env: Mapping[str, str], name: str, default: int, most: int) -> int:
    """``env[name]`` as a whole number from 0 to ``most`` (``default`` when unset);
    ConfigurationError naming the variable otherwise."""
    raw = env.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not 0 <= int(raw) <= most:
        raise ConfigurationError(f"{name} must be a whole number from 0 to {most}, not {raw!r}")
    return int(raw)
