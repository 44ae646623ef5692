"""What the webhook dispatcher may do, read once from the environment at the entry point.

``LEDGER_WEBHOOK_ALLOW`` lists, comma-separated, the destinations webhooks may go to: host
patterns (``hooks.example.com``, ``*.dingtalk.com``) and IP addresses or networks
(``127.0.0.1``, ``10.1.0.0/16``). Nothing is allowed by default. A destination's host must
match a pattern, and every address it resolves to must be a public one or lie in a listed
network: private, loopback and link-local addresses are reached only when listed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_settings import NoDecode

from ledger.env_values import EnvSettings, whole_number

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _allow_list(value: object) -> object:
    if isinstance(value, str):  # the variable: comma-separated
        return tuple(a.strip() for a in value.split(",") if a.strip())
    return value


def _checked_allow_list(allow: tuple[str, ...]) -> tuple[str, ...]:
    for entry in allow:
        if _network(entry) is None and not _host_pattern(entry):
            raise ValueError(f"{entry[:80]!r} is neither a host pattern nor an IP address or "
                             "network")
    return allow


def _hours(value: object) -> object:
    parsed = whole_number(24 * 30)(value)
    return 3600.0 * parsed if isinstance(value, str) and isinstance(parsed, int) else parsed


class WebhookSettings(EnvSettings):
    """Allow-list, timeouts, retry schedule and secret-rotation grace of outbound webhooks."""

    allow: Annotated[tuple[str, ...], NoDecode, BeforeValidator(_allow_list),
                     AfterValidator(_checked_allow_list)] = Field(
        (), validation_alias="LEDGER_WEBHOOK_ALLOW")
    # the spec recommends 15 to 30 s for a receiver
    timeout_seconds: Annotated[float, BeforeValidator(whole_number(120))] = Field(
        15.0, validation_alias="LEDGER_WEBHOOK_TIMEOUT_SECONDS")
    connect_timeout_seconds: float = 5.0
    # Consecutive failures before a delivery is a dead letter. With the back-off below (5 s
    # doubled per failure, at most 6 h apart, each wait scaled by 0.5 to 1) 20 attempts span
    # 23.7 to 47 hours: a receiver down for an hour, a night or a day loses nothing, as with
    # the services that set the norm (Svix, Standard Webhooks' reference: ~27 h; Stripe:
    # 3 days). Ten spanned 21 to 43 minutes: an hour's outage dead-lettered the head of every
    # departure's queue and delivered the rest out of order (scripts/webhook_outage.py).
    max_attempts: Annotated[int, BeforeValidator(whole_number(100))] = Field(
        20, validation_alias="LEDGER_WEBHOOK_MAX_ATTEMPTS")
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 6 * 3600.0
    rotation_grace_seconds: Annotated[float, BeforeValidator(_hours)] = Field(
        24 * 3600.0, validation_alias="LEDGER_WEBHOOK_ROTATION_GRACE_HOURS")
    batch: int = 20  # deliveries claimed (and sent side by side) per dispatcher step

    @property
    def host_patterns(self) -> tuple[str, ...]:
        """The allow-list's host patterns (lower case)."""
        return tuple(a.lower() for a in self.allow if _network(a) is None)

    @property
    def networks(self) -> tuple[Network, ...]:
        """The allow-list's explicitly allowed addresses and networks."""
        return tuple(n for a in self.allow if (n := _network(a)) is not None)

    @classmethod
    def read_env(cls, env: Mapping[str, str]) -> WebhookSettings:
        """Read the LEDGER_WEBHOOK_* variables of ``env``; ConfigurationError naming each
        one at fault."""
        return cls.build(cls.env_values(env))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WebhookSettings:
        """The same as ``read_env`` (the name the other settings use)."""
        return cls.read_env(env)


def _network(entry: str) -> Network | None:
    try:
        return ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return None


def _host_pattern(entry: str) -> bool:
    labels = entry.lower().split(".")
    return len(entry) <= 253 and all(
        label == "*" or (label and all(c.isalnum() or c == "-" for c in label) and label.isascii())
        for label in labels) and "*" not in labels[1:]


