"""One signing key never signs two different logs: the refusal to start, on both stores, and
key rotation still working."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.bootstrap import bootstrap
from ledger.errors import ConfigurationError, NotFoundError
from ledger.principals import Principal
from ledger.runtime import Runtime
from ledger.service.ledger import Ledger
from ledger.settings import Settings
from ledger.store.factory import log_store_for, open_store
from ledger.store.port import EventStore
from ledger.tlog.checkpoint import open_checkpoint
from ledger.tlog.note import open_note
from ledger.transparency.keys import create_key, load_signers, load_verifiers, retire_key
from ledger.transparency.log_identity import MARKER, read_marker
from ledger.transparency.sequencer import Sequencer
from tests.conftest import TEST_ORIGIN, drain
from tests.integration.http_fixtures import CAST, HR
from tests.integration.scenarios import item_with_comments

REPO = Path(__file__).resolve().parents[2]


def settings_for(url: str, data_dir: Path) -> Settings:
    return Settings(database_url=url, data_dir=data_dir, log_origin=TEST_ORIGIN,
                    key_dir=data_dir / "keys")


async def run_once(settings: Settings, comments: int = 1) -> None:
    """Start, write an item with comments, sequence and sign, stop: one honest session."""
    runtime = await bootstrap(settings)
    try:
        await add_people(runtime)
        await runtime.ledger.install_builtin_templates()
        await item_with_comments(runtime.ledger, HR, comments)
        await drain(runtime.sequencer)
    finally:
        await runtime.close()


async def add_people(runtime: Runtime) -> None:
    """The cast, once per database (principal ids are never reused)."""
    for principal_id, (name, roles) in CAST.items():
        try:
            await runtime.principals.get_principal(principal_id)
        except NotFoundError:
            await runtime.principals.add_principal(Principal(principal_id, name, roles))


async def recorded_keys(settings: Settings) -> list[str]:
    runtime = await bootstrap(settings)
    try:
        return await runtime.log.signing_keys()
    finally:
        await runtime.close()


@pytest.mark.parametrize("first", ["sqlite", "postgres"])
async def test_one_data_folder_used_with_sqlite_then_postgres_refuses_the_second_start(
        tmp_path: Path, pg_dsn: str, first: str) -> None:
    data = tmp_path / "ledger-data"
    sqlite_url = f"sqlite:///{data}/ledger.db"
    urls = [sqlite_url, pg_dsn] if first == "sqlite" else [pg_dsn, sqlite_url]
    data.mkdir()
    await run_once(settings_for(urls[0], data))
    with pytest.raises(ConfigurationError, match=re.escape(
            f"the signing keys in {data / 'keys'} already sign another log")) as info:
        await bootstrap(settings_for(urls[1], data))
    assert "LEDGER_DATA_DIR" in str(info.value) and "one key never signs two logs" in str(
        info.value)
    if first == "postgres":  # refused before the SQLite file was made: no empty ledger left
        assert not (data / "ledger.db").exists()
    # The first database goes on as before; the second was never signed by these keys.
    await run_once(settings_for(urls[0], data))
    other = await bootstrap(settings_for(urls[1], tmp_path / "own-folder"))
    try:
        assert await other.log.latest_checkpoint() is None
        assert [s.verifier.vkey for s in other.sequencer.signers] == await other.log.signing_keys()
    finally:
        await other.close()


async def test_a_database_begun_under_other_keys_refuses_a_fresh_key_folder(
        database_url: str, tmp_path: Path) -> None:
    await run_once(settings_for(database_url, tmp_path / "a"))
    stranger = settings_for(database_url, tmp_path / "b")
    with pytest.raises(ConfigurationError, match="was begun under other signing keys"):
        await bootstrap(stranger)
    assert read_marker(stranger.key_dir) is None  # the stranger's folder stays unbound
    assert len(await recorded_keys(settings_for(database_url, tmp_path / "a"))) == 1


async def test_keygen_adds_a_key_to_the_same_log_and_retiring_the_old_one_still_starts(
        database_url: str, tmp_path: Path) -> None:
    settings = settings_for(database_url, tmp_path / "a")
    await run_once(settings)
    first = await recorded_keys(settings)
    _, added = create_key(settings.key_dir, TEST_ORIGIN)  # what `ledger keygen` does
    await run_once(settings, 2)
    assert sorted(await recorded_keys(settings)) == sorted([*first, added])
    retire_key(settings.key_dir, first[0].split("+")[1])
    await run_once(settings, 3)
    runtime = await bootstrap(settings)
    try:
        verifiers = load_verifiers(settings.key_dir)
        for stored in await runtime.log.checkpoints():
            open_checkpoint(stored.note, verifiers, TEST_ORIGIN)
        latest = await runtime.log.latest_checkpoint()
        assert latest is not None
        signed_by = {s.key_id for s in open_note(latest.note, verifiers).signatures}
        assert signed_by == {int(added.split("+")[1], 16)}
    finally:
        await runtime.close()


async def test_a_restart_with_the_same_folder_and_database_is_accepted(
        database_url: str, tmp_path: Path) -> None:
    settings = settings_for(database_url, tmp_path / "a")
    await run_once(settings)
    await run_once(settings)
    bound = read_marker(settings.key_dir)
    assert bound is not None and bound.origin == TEST_ORIGIN
    assert len(await recorded_keys(settings)) == 1
    assert "@" not in bound.database  # no credentials written beside the keys


async def test_the_log_id_is_random_per_database_and_fixed_for_its_life(
        store: EventStore) -> None:
    log = log_store_for(store)
    log_id = await log.log_id()
    assert re.fullmatch(r"[0-9a-f]{32}", log_id)
    await store.migrate()
    assert await log.log_id() == log_id
    await log.record_signing_keys(["a+00000001+AQ", "b+00000002+AQ"])
    await log.record_signing_keys(["a+00000001+AQ"])
    assert sorted(await log.signing_keys()) == ["a+00000001+AQ", "b+00000002+AQ"]


async def test_ledger_serve_refuses_with_a_message_saying_what_to_do(
        tmp_path: Path, pg_dsn: str) -> None:
    data = tmp_path / "ledger-data"
    data.mkdir()
    await run_once(Settings(database_url=f"sqlite:///{data}/ledger.db", data_dir=data,
                            key_dir=data / "keys"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env["LEDGER_DATABASE_URL"] = pg_dsn
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "ledger.cli", "serve", "--port", "0"],
        cwd=tmp_path, env={**env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
        timeout=120, check=False)
    assert done.returncode == 2, (done.stdout, done.stderr)
    message = " ".join(done.stderr.split())
    assert "already sign another log" in message and "LEDGER_DATA_DIR" in message
    assert "serving on" not in done.stdout
    assert (data / "keys" / MARKER).exists()


async def test_a_log_signed_before_keys_were_recorded_is_claimed_only_by_its_own_keys(
        database_url: str, tmp_path: Path) -> None:
    # A ledger from before this binding: its checkpoints are the only record of its keys.
    own = tmp_path / "own-keys"
    create_key(own, TEST_ORIGIN)
    store = await open_store(database_url)
    try:
        await store.migrate()
        await item_with_comments(Ledger(store), HR, 1)
        await drain(Sequencer(log_store_for(store), load_signers(own, TEST_ORIGIN), TEST_ORIGIN))
        assert await log_store_for(store).signing_keys() == []
    finally:
        await store.close()
    stranger = Settings(database_url=database_url, data_dir=tmp_path, log_origin=TEST_ORIGIN,
                        key_dir=tmp_path / "stranger-keys")
    with pytest.raises(ConfigurationError, match="was begun under other signing keys"):
        await bootstrap(stranger)
    owner = Settings(database_url=database_url, data_dir=tmp_path, log_origin=TEST_ORIGIN,
                     key_dir=own)
    runtime = await bootstrap(owner)
    try:
        assert await runtime.log.signing_keys() == [v.vkey for v in load_verifiers(own)]
    finally:
        await runtime.close()
    assert read_marker(own) is not None
