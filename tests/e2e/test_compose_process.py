"""What the image runs, run here as plain processes: docker-compose.yml's migrate and service
commands with its environment (host paths and the database mapped to loopback and temporary
folders), the keys folder made read-only before the service starts, as the compose file mounts
it. Also: a wrong setting stops ``ledger serve`` at once with a message naming it."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.http_fixtures import postgres_database

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
LEDGER = Path(sys.executable).parent / "ledger"
SCRAPE = "c0ffee" * 8


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}


def test_a_wrong_setting_stops_serve_with_a_message_naming_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(LEDGER), "serve", "--port", "0"], cwd=tmp_path, capture_output=True, text=True,
        env={**_clean_env(), "LEDGER_TOKEN_TTL_DAYS": "0", "LEDGER_LOG_FORMAT": "yaml"},
        timeout=60, check=False)
    assert done.returncode == 2
    assert "LEDGER_TOKEN_TTL_DAYS must be a whole number from 1 to 3650, not '0'" in done.stderr
    assert "LEDGER_LOG_FORMAT" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "ledger-data").exists()  # refused before opening anything


def _interpolate(value: str, given: dict[str, str]) -> str:
    """Compose's ``${NAME:-default}`` and ``${NAME:?message}``."""
    def one(match: re.Match[str]) -> str:
        name, op, rest = match.group(1), match.group(2), match.group(3) or ""
        if given.get(name):
            return given[name]
        assert op != ":?", f"compose requires {name}: {rest}"
        return rest
    return re.sub(r"\$\{([A-Z_]+)(:-|:\?)?([^}]*)\}", one, value)


def _service(name: str, given: dict[str, str], paths: dict[str, Path],
             database_url: str) -> tuple[list[str], dict[str, str]]:
    """The service's command and environment, mapped to this machine."""
    service = yaml.safe_load(COMPOSE.read_text())["services"][name]
    env = {k: _interpolate(str(v), given) for k, v in service["environment"].items()}
    assert env["LEDGER_DATABASE_URL"].startswith("postgresql://ledger:")
    env["LEDGER_DATABASE_URL"] = database_url  # the compose network's postgres → loopback
    for key, value in env.items():
        if value in paths:
            env[key] = str(paths[value])
    command = [str(LEDGER) if c == "ledger" else c for c in service["command"]]
    command = ["127.0.0.1" if c == "0.0.0.0" else c for c in command]  # noqa: S104
    if "--port" in command:
        command[command.index("--port") + 1] = "0"
    return command, env


def _read_only(folder: Path) -> Callable[[list[str]], list[str]]:
    """How to run a command that sees ``folder`` read-only, as the compose file mounts it."""
    if os.geteuid() != 0:
        for path in [folder, *folder.iterdir()]:
            path.chmod(path.stat().st_mode & ~0o222)
        return lambda command: command
    unshare = shutil.which("unshare")
    probe = subprocess.run([unshare, "-m", "true"], capture_output=True, check=False) \
        if unshare else None
    if unshare is None or probe is None or probe.returncode != 0:
        pytest.skip("cannot make a read-only mount here (root without unshare)")
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    return lambda command: [unshare, "-m", "sh", "-c", script, "sh", str(folder), *command]


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(  # noqa: S310 (the test's own loopback URL)
        url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@pytest.fixture
async def compose_database() -> AsyncIterator[str]:
    async with postgres_database() as url:
        yield url


def test_the_compose_commands_migrate_then_serve_with_read_only_keys(
        tmp_path: Path, compose_database: str) -> None:
    paths = {"/data": tmp_path / "data", "/keys": tmp_path / "keys"}
    for path in paths.values():
        path.mkdir(mode=0o700)
    given = {"LEDGER_DB_PASSWORD": "not-used-here", "LEDGER_METRICS_TOKEN": SCRAPE}
    base = _clean_env()

    command, env = _service("migrate", given, paths, compose_database)
    migrated = subprocess.run(command, env={**base, **env}, capture_output=True, text=True,
                              timeout=120, check=False, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    keys = paths["/keys"]
    assert {p.suffix for p in keys.iterdir()} == {".skey", ".vkey", ""}  # and log-id
    before = _digest(keys)

    command, env = _service("ledger", given, paths, compose_database)
    assert env["LEDGER_LOG_FORMAT"] == "json"
    process = subprocess.Popen(_read_only(keys)(command), env={**base, **env},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=tmp_path)
    try:
        port = _served_port(process)
        base_url = f"http://127.0.0.1:{port}"
        assert _get(base_url + "/healthz")[0] == 200
        ready = _wait_ready(base_url)
        assert "board" in [p["name"] for p in ready["projections"]]
        status, body = _get(base_url + "/metrics", SCRAPE)
        assert status == 200 and b"ledger_checkpoint_age_seconds" in body
        assert _get(base_url + "/metrics")[0] == 401
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert _digest(keys) == before  # the service never wrote the keys folder
    assert process.stderr is not None
    lines = [json.loads(line) for line in process.stderr.read().splitlines() if line]
    assert any(r.get("route") == "/readyz" and r.get("status") == 200 for r in lines)
    assert SCRAPE not in json.dumps(lines)


def _served_port(process: subprocess.Popen[str]) -> int:
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if (found := re.search(r"serving on http://127\.0\.0\.1:(\d+) ", line)) is not None:
            return int(found.group(1))
    raise AssertionError(f"never served; stdout: {''.join(seen)}")


def _wait_ready(base_url: str) -> Any:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, body = _get(base_url + "/readyz")
        if status == 200:
            return json.loads(body)
        time.sleep(0.1)
    raise AssertionError(f"never ready: {body[:500]!r}")


def test_the_image_base_is_pinned_to_a_python_patch_and_a_debian_release() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    [base] = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    # The system packages below are named for Debian 12 (bookworm): postgresql-client there
    # is PostgreSQL 15, the compose file's server.
    assert re.fullmatch(r"FROM python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", base)
    compose = yaml.safe_load(COMPOSE.read_text())["services"]
    assert compose["postgres"]["image"] == "postgres:15"


def test_the_image_installs_every_system_package_the_readme_names_for_the_service() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## System packages", 1)[1].split("\n## ", 1)[0]
    needed = {name for line in section.splitlines() if line.startswith("| `")
              and "tests only" not in line for name in re.findall(r"`([a-z0-9.+-]+)`",
                                                                  line.split(" | ")[0])}
    dockerfile = (ROOT / "Dockerfile").read_text()
    installed = set(re.findall(r"[a-z0-9][a-z0-9.+-]+", dockerfile.split(
        "--no-install-recommends", 1)[1].split("&&", 1)[0]))
    assert {"fonts-noto-cjk", "libharfbuzz-subset0", "libpango-1.0-0"} <= needed
    assert needed <= installed
    compose = yaml.safe_load(COMPOSE.read_text())["services"]
    assert "/keys:ro" in " ".join(compose["ledger"]["volumes"])
    assert compose["ledger"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully")
    assert compose["ledger"]["command"][:2] == ["ledger", "serve"]
    assert '"ledger", "serve"' in dockerfile
