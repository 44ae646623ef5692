"""Benchmark: ``ledger backup`` and ``ledger restore`` of a ledger of a few thousand events
with evidence files, on SQLite and on PostgreSQL (a throw-away ``bench_<random>`` database for
the source and one for the restore target, dropped at the end).

The ledger is made through the service's own use cases (departures with the sales checklist,
comments, evidence uploads through the blob store and ``RecordUpload``), then sequenced. Each
store is measured side by side with its floor, the plain copy with no manifest, hashing,
snapshot or verification: the database file and blob folder copied with ``shutil`` (SQLite), a
bare ``pg_dump -Fc`` (PostgreSQL). The restore is split into its parts: checking the parts'
hashes, loading the database and files, and the full ``ledger verify`` of the result.

    python scripts/bench_backup.py                 # 5,000 events, 200 files of 32 KiB
    python scripts/bench_backup.py --events 2000 --stores sqlite
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchdb import (
    DEFAULT_DSN,
    HR,
    MANAGER,
    SUCCESSOR,
    BenchError,
    bench_parser,
    check_loopback,
    comment_text,
    create_database,
    create_items,
    drop_database,
    run_main,
    with_database,
)

from ledger.backup.backup import back_up
from ledger.backup.restore import restore
from ledger.bootstrap import bootstrap
from ledger.service import commands as c
from ledger.service.context import RequestContext
from ledger.settings import Settings

CONTEXT = RequestContext(request_id=None, ip="127.0.0.1", user_agent="bench_backup",
                         auth="bench")


@dataclass
class Figures:
    """One store's measurements, in seconds."""

    store: str
    events: int
    files: int
    backup: float
    floor: float
    check: float
    load: float
    verify: float
    megabytes: float


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _fill(settings: Settings, events: int, files: int, file_size: int) -> int:
    """A ledger of about ``events`` events, ``files`` of them uploads; returns the count."""
    runtime = await bootstrap(settings)
    try:
        await runtime.ledger.install_builtin_templates()
        from ledger.principals import Principal

        await runtime.principals.add_principal(Principal(HR.id, "Bench HR", ("hr",)))
        items = await create_items(runtime.ledger, 40, HR, MANAGER, SUCCESSOR, CONTEXT,
                                   principals=runtime.principals)
        for n in range(files):
            data = os.urandom(file_size)
            sha256, size = await runtime.blobs.put(_chunks(data))
            await runtime.ledger.execute(c.RecordUpload(
                item_id=items[n % len(items)], sha256=sha256, size=size, name=f"f{n}.bin",
                media_type="application/octet-stream"), HR, CONTEXT)
        n = 0
        while await runtime.store.count_events() < events:
            for k in range(200):
                await runtime.ledger.execute(c.CommentItem(
                    item_id=items[(n + k) % len(items)], text=comment_text(k % 16, n + k)),
                    HR, CONTEXT)
            n += 200
        while await runtime.sequencer.step():
            pass
        return await runtime.store.count_events()
    finally:
        await runtime.close()


def _settings(url: str, folder: Path) -> Settings:
    return Settings.from_env({"LEDGER_DATABASE_URL": url, "LEDGER_DATA_DIR": str(folder)})


def _floor(store: str, source: Settings, folder: Path) -> float:
    started = time.perf_counter()
    if store == "sqlite":
        path = Path(source.database_url.removeprefix("sqlite:///"))
        shutil.copyfile(path, folder / "plain.db")
        shutil.copytree(source.data_dir / "blobs", folder / "plain-blobs")
    else:
        from ledger.backup.postgres_dump import find_tool

        subprocess.run([str(find_tool("pg_dump")), "-Fc", "-f", str(folder / "plain.pgdump"),  # noqa: S603
                        f"--dbname={source.database_url}"], check=True)
    return time.perf_counter() - started


async def _measure(store: str, source_url: str, target_url: str, root: Path,
                   events: int, files: int, file_size: int) -> Figures:
    source = _settings(source_url, root / "source")
    count = await _fill(source, events, files, file_size)
    floor = await asyncio.to_thread(_floor, store, source, root)
    started = time.perf_counter()
    manifest = await back_up(source, root / "backup")
    backup = time.perf_counter() - started
    size = sum(p.size for p in manifest.parts) / 1e6
    steps: dict[str, float] = {}

    def progress(step: str, done: int, total: int | None) -> None:
        steps.setdefault(step.split()[0], time.perf_counter())

    target = Settings(**{**_settings(target_url, root / "target").__dict__,
                         "key_dir": source.key_dir})
    started = time.perf_counter()
    restored = await restore(target, root / "backup", progress=progress)
    ended = time.perf_counter()
    if not restored.ok:
        raise BenchError(f"the restore did not verify: {restored.verified.problems[:3]}")
    load_from = steps.get("database", started)
    verify_from = steps.get("verify", ended)
    return Figures(store, count, files, backup, floor, load_from - started,
                   verify_from - load_from, ended - verify_from, size)


async def _run(stores: list[str], dsn: str, events: int, files: int,
               file_size: int) -> list[Figures]:
    figures = []
    for store in stores:
        with tempfile.TemporaryDirectory(prefix="bench_backup_") as tmp:
            root = Path(tmp)
            if store == "sqlite":
                figures.append(await _measure(
                    store, f"sqlite:///{root / 'source' / 'ledger.db'}",
                    f"sqlite:///{root / 'target' / 'ledger.db'}", root, events, files,
                    file_size))
                continue
            check_loopback(dsn)
            names = [await create_database(dsn), await create_database(dsn)]
            try:
                figures.append(await _measure(store, with_database(dsn, names[0]),
                                              with_database(dsn, names[1]), root, events,
                                              files, file_size))
            finally:
                for name in names:
                    await drop_database(dsn, name)
    return figures


def _report(figures: list[Figures]) -> None:
    print(f"{'store':10} {'events':>7} {'files':>5} {'MB':>6} {'backup':>8} {'floor':>7} "
          f"{'ratio':>6} {'restore':>8} {'check':>6} {'load':>6} {'verify':>7}")
    for f in figures:
        total = f.check + f.load + f.verify
        print(f"{f.store:10} {f.events:7} {f.files:5} {f.megabytes:6.1f} {f.backup:7.2f}s "
              f"{f.floor:6.2f}s {f.backup / f.floor:5.1f}x {total:7.2f}s {f.check:5.2f}s "
              f"{f.load:5.2f}s {f.verify:6.2f}s")


def main() -> int:
    """Parse the options, run, print the table."""
    parser = bench_parser(__doc__, DEFAULT_DSN)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--file-kib", type=int, default=32)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    stores = [s for s in args.stores.split(",") if s]
    if set(stores) - {"sqlite", "postgres"}:
        parser.error("--stores: sqlite and/or postgres")
    return run_main("bench_backup", lambda: asyncio.run(_run(
        stores, args.dsn, args.events, args.files, args.file_kib << 10)), _report)


if __name__ == "__main__":
    sys.exit(main())
