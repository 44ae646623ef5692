"""Where webhooks may go (``LEDGER_WEBHOOK_ALLOW``, see ``ledger.webhooks.settings``): the
guard against requests to arbitrary internal hosts (server-side request forgery).

A URL is checked when a subscription is created (scheme, no credentials, host allowed) and
again before every delivery, with its host resolved: each address must be public or lie in a
network the allow-list names. ``GuardedResolver`` applies the same check inside aiohttp's
connector, so the connection goes only to an address that was checked (a name that resolves
differently a moment later gains nothing). Redirects are never followed (the dispatcher sends
with ``allow_redirects=False``), so a receiver cannot send us elsewhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from ledger.errors import InvalidInputError
from ledger.webhooks.settings import WebhookSettings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL = 2000


class DestinationRefusedError(InvalidInputError):
    """The allow-list does not let webhooks go to this destination."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="url")


def _address(host: str) -> Address | None:
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def address_allowed(ip: Address, settings: WebhookSettings) -> bool:
    """``ip`` lies in a listed network, or is a public unicast address."""
    if any(ip.version == n.version and ip in n for n in settings.networks):
        return True
    return ip.is_global and not ip.is_multicast


def _matches(host: str, pattern: str) -> bool:
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def check_url(url: str, settings: WebhookSettings) -> tuple[str, int]:
    """The host and port of ``url`` if the allow-list lets webhooks go there (before any
    name is resolved), else DestinationRefusedError."""
    if len(url) > MAX_URL:
        raise DestinationRefusedError(f"a webhook URL is at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as e:
        raise DestinationRefusedError("the webhook URL is not a valid URL") from e
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DestinationRefusedError("a webhook URL is an http or https URL with a host")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise DestinationRefusedError("a webhook URL carries no credentials and no fragment")
    host = parts.hostname.lower()
    ip = _address(host)
    if ip is not None:
        listed = any(_matches(host, p) for p in settings.host_patterns)
        allowed = any(ip.version == n.version and ip in n for n in settings.networks) or (
            listed and address_allowed(ip, settings))
    else:
        allowed = any(_matches(host, p) for p in settings.host_patterns)
    if not allowed:
        raise DestinationRefusedError(
            f"webhooks may not go to {host[:100]} (not in LEDGER_WEBHOOK_ALLOW)")
    return host, port


def check_addresses(host: str, addresses: list[str], settings: WebhookSettings) -> None:
    """DestinationRefusedError unless every address ``host`` resolved to is allowed."""
    if not addresses:
        raise DestinationRefusedError(f"{host[:100]} resolves to no address")
    for text in addresses:
        ip = _address(text.split("%", 1)[0])
        if ip is None or not address_allowed(ip, settings):
            raise DestinationRefusedError(
                f"webhooks may not go to {host[:100]}: it resolves to {text}, a private, "
                "loopback or link-local address not in LEDGER_WEBHOOK_ALLOW")


async def check_destination(url: str, settings: WebhookSettings) -> None:
    """Check ``url`` and every address its host resolves to now."""
    host, port = check_url(url, settings)
    if _address(host) is not None:
        check_addresses(host, [host.strip("[]")], settings)
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port,
                                                             type=socket.SOCK_STREAM)
    except OSError as e:
        raise DestinationRefusedError(f"{host[:100]} does not resolve: {e}") from e
    check_addresses(host, [str(info[4][0]) for info in infos], settings)


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, answering only with allowed addresses (the connection is then
    made to one of those, never to what a second lookup might say)."""

    def __init__(self, settings: WebhookSettings) -> None:
        self._settings = settings
        self._inner = DefaultResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        try:
            check_addresses(host, [r["host"] for r in results], self._settings)
        except DestinationRefusedError as e:
            raise OSError(str(e)) from e
        return results

    async def close(self) -> None:
        await self._inner.close()
