"""Where a command came from, as a report shows it: the IP address, the client (device, browser
and operating system parsed from the User-Agent) and how the person was authenticated.

Pure. The User-Agent is parsed with ``ua-parser`` (the maintained uap-python port of the
uap-core regexes); the raw header is always shown beside what was read from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ua_parser import parse

from ledger.canonical import JSONObject

_AUTH = {
    "bearer": ("持有者令牌", "bearer token"),
    "system": ("系统内部操作", "the ledger itself (system)"),
    "cli": ("命令行（运维人员）", "command line (operator)"),
}


@dataclass(frozen=True)
class Origin:
    """The request context of one entry, ready to print."""

    ip: str
    user_agent: str
    device: str
    browser: str
    os: str
    auth_zh: str
    auth_en: str
    request_id: str


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


def origin_of(context: JSONObject) -> Origin | None:
    """The origin recorded in an entry's ``context``; None when it records none."""
    if not any(context.get(k) for k in ("ip", "user_agent", "auth")):
        return None
    user_agent = str(context.get("user_agent") or "")
    device, browser, system = describe_client(user_agent)
    auth = str(context.get("auth") or "")
    zh, en = _AUTH.get(auth, (auth or "-", auth or "-"))
    return Origin(ip=str(context.get("ip") or "-"), user_agent=user_agent or "-",
                  device=device, browser=browser, os=system, auth_zh=zh, auth_en=en,
                  request_id=str(context.get("request_id") or "-"))
