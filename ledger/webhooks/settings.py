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
from dataclasses import dataclass

from ledger.env_values import positive_int
from ledger.errors import ConfigurationError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class WebhookSettings:
    """Allow-list, timeouts, retry schedule and secret-rotation grace of outbound webhooks."""

    allow: tuple[str, ...] = ()
    timeout_seconds: float = 15.0  # the spec recommends 15 to 30 s for a receiver
    connect_timeout_seconds: float = 5.0
    max_attempts: int = 10  # consecutive failures before a delivery is a dead letter
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 6 * 3600.0
    rotation_grace_seconds: float = 24 * 3600.0
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
    def from_env(cls, env: Mapping[str, str]) -> WebhookSettings:
        """Read the LEDGER_WEBHOOK_* variables of ``env``."""
        allow = tuple(a.strip() for a in env.get("LEDGER_WEBHOOK_ALLOW", "").split(",")
                      if a.strip())
        for entry in allow:
            if _network(entry) is None and not _host_pattern(entry):
                raise ConfigurationError(
                    f"LEDGER_WEBHOOK_ALLOW: {entry[:80]!r} is neither a host pattern nor an "
                    "IP address or network")
        return cls(allow=allow,
                   max_attempts=positive_int(env, "LEDGER_WEBHOOK_MAX_ATTEMPTS", 10, 100),
                   timeout_seconds=positive_int(env, "LEDGER_WEBHOOK_TIMEOUT_SECONDS", 15, 120),
                   rotation_grace_seconds=3600.0 * positive_int(
                       env, "LEDGER_WEBHOOK_ROTATION_GRACE_HOURS", 24, 24 * 30))


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


