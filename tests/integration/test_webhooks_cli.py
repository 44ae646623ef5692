"""``ledger webhooks``: the same use cases from the command line, on a SQLite ledger."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from ledger.settings import Settings
from ledger.store.sqlite import SQLiteEventStore
from ledger.webhooks.cli import add_parser, cmd_webhooks
from ledger.webhooks.settings import WebhookSettings


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["webhooks", *argv])


async def test_an_operator_manages_webhooks_from_the_command_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/l.db",
                        webhooks=WebhookSettings(allow=("hooks.example.com",)))
    store = await SQLiteEventStore.connect(tmp_path / "l.db")
    try:
        async def run(*argv: str) -> list[dict[str, object]]:
            assert await cmd_webhooks(parse(*argv), settings, store) == 0
            return [json.loads(line) for line in capsys.readouterr().out.splitlines()]

        [created] = await run("create", "https://hooks.example.com/in", "DepartureStarted")
        assert str(created["secret"]).startswith("whsec_")
        [listed] = await run("list")
        assert listed["id"] == created["id"] and "secret" not in listed
        [rotated] = await run("rotate", str(created["id"]))
        assert rotated["secret"] != created["secret"]
        [disabled] = await run("disable", str(created["id"]))
        assert disabled["active"] == 0
        assert await run("dead-letters") == []
    finally:
        await store.close()
