"""Where a command came from, as a report shows it: the IP address, the client (device, browser
and operating system parsed from the User-Agent) and how the person was authenticated.

Pure. The User-Agent is parsed with ``ua-parser`` (the maintained uap-python port of the
uap-core regexes). A case sees few distinct clients, so each gets a label (C1, C2, … in the
order of their User-Agent strings) and the report prints every raw header once, in its table
of clients, beside what was read from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from ua_parser import parse

from ledger.bundle.report_labels import auth_words
from ledger.canonical import JSONObject


@dataclass(frozen=True)
class Client:
    """One distinct User-Agent: its label and what was read from it."""

    label: str
    user_agent: str
    device: str
    browser: str
    os: str

    @cached_property  # printed on every row of the client's
    def summary(self) -> str:
        """Browser, system and device, those it names."""
        return " · ".join(p for p in (self.browser, self.os, self.device) if p != "-") or "-"


@dataclass(frozen=True)
class Origin:
    """The request context of one entry, ready to print."""

    ip: str
    client: Client | None
    auth_zh: str
    auth_en: str


def _version(*parts: str | None) -> str:
    return ".".join(p for p in parts if p)


def describe_client(user_agent: str) -> tuple[str, str, str]:
    """``(device, browser, operating system)`` read from a User-Agent header; ``-`` where it
    names none."""
    if not user_agent:
        return "-", "-", "-"
    result = parse(user_agent)
    device = "-"
    if result.device is not None:
        device = " ".join(dict.fromkeys(
            p for p in (result.device.brand, result.device.model or result.device.family) if p))
    browser = "-"
    if result.user_agent is not None:
        agent = result.user_agent
        browser = f"{agent.family} {_version(agent.major, agent.minor, agent.patch)}".strip()
    system = "-"
    if result.os is not None:
        system = f"{result.os.family} {_version(result.os.major, result.os.minor)}".strip()
    return device or "-", browser, system


def clients_of(contexts: Iterable[JSONObject]) -> dict[str, Client]:
    """Each distinct User-Agent of ``contexts``, labelled in the order of the strings."""
    agents = sorted({str(c["user_agent"]) for c in contexts if c.get("user_agent")})
    return {agent: Client(f"C{n}", agent, *describe_client(agent))
            for n, agent in enumerate(agents, start=1)}


def origin_of(context: JSONObject, clients: Mapping[str, Client]) -> Origin | None:
    """The origin recorded in an entry's ``context`` (its client among ``clients``); None
    when it records none."""
    if not any(context.get(k) for k in ("ip", "user_agent", "auth")):
        return None
    zh, en = auth_words(str(context.get("auth") or ""))
    return Origin(ip=str(context.get("ip") or "-"),
                  client=clients.get(str(context.get("user_agent") or "")),
                  auth_zh=zh, auth_en=en)
