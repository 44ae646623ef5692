"""What a fault test checks once the load has stopped and the server is down: every command a
2xx acknowledged is in the ledger exactly once (its events by id, under its request id, and
in the log once each), nothing else recorded under a request id was half done, every stored
file is whole (its bytes hash to its name; no upload left half-written in the blob store's
temporary folder), ``ledger verify`` passes, and the board equals a rebuild from the log."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ledger.bootstrap import open_storage
from ledger.projections.board import BoardProjector, tables
from ledger.projections.runner import ProjectionRunner
from ledger.runtime import Storage
from ledger.settings import Settings
from tests.support.fault_load import Op
from tests.support.fleet import ROOT


@dataclass
class Findings:
    """What was found wrong (empty lists: nothing) and what was counted."""

    events: int = 0
    log_size: int = 0
    acknowledged: int = 0
    replayed: int = 0  # acknowledged by a replay: an attempt had committed unanswered
    unanswered: int = 0  # given up by its client, yet recorded (whole)
    reminders: int = 0  # recorded by the scheduler
    missing: list[str] = field(default_factory=list)  # acknowledged, not (wholly) recorded
    doubled: list[str] = field(default_factory=list)  # recorded more than once
    half: list[str] = field(default_factory=list)  # a command recorded in part
    not_logged: list[str] = field(default_factory=list)  # events not in the log exactly once
    bad_files: list[str] = field(default_factory=list)  # a stored file not whole
    temporary_files: list[str] = field(default_factory=list)  # uploads left half-written
    verify_exit: int | None = None
    verify_output: str = ""
    board_behind: int = 0  # log entries the stopped server's board had yet to apply
    board_rows: int = 0
    board_differ: int = 0
    board_samples: list[str] = field(default_factory=list)  # a few rows that differ

    def problems(self) -> list[str]:
        """One line per kind of fault found."""
        found = [f"{name}: {len(items)} (e.g. {items[:3]})" for name, items in (
            ("acknowledged but missing", self.missing), ("recorded twice", self.doubled),
            ("half recorded", self.half), ("not in the log exactly once", self.not_logged),
            ("files not whole", self.bad_files),
            ("half-written uploads", self.temporary_files)) if items]
        if self.verify_exit != 0:
            found.append(f"ledger verify exit {self.verify_exit}: {self.verify_output[-800:]}")
        if self.board_differ:
            found.append(f"board: {self.board_differ} of {self.board_rows} rows differ "
                         f"from a rebuild, e.g. {self.board_samples[:4]}")
        return found


async def _recorded(storage: Storage) -> dict[str, list[dict[str, object]]]:
    """Every stored event, decoded, grouped by its ``context.request_id``."""
    by_request: dict[str, list[dict[str, object]]] = defaultdict(list)
    after = 0
    while batch := await storage.store.read_all(after, 5000):
        for event in batch:
            entry = json.loads(event.entry)
            request_id = str((entry.get("context") or {}).get("request_id") or "")
            by_request[request_id].append({"id": str(event.event_id), "type": event.event_type,
                                           "hash": event.event_hash.hex(),
                                           "stream": str(event.stream_id),
                                           "payload": entry["payload"]})
        after = batch[-1].position
    return by_request


def _judge(op: Op, recorded: list[dict[str, object]], found: Findings) -> None:
    """Compare what one command recorded with what its client was told."""
    if op.name == "upload":
        uploads = [e for e in recorded if e["type"] == "ItemEvidenceUploaded"]
        if op.acknowledged and not any(isinstance(e["payload"], dict)
                                       and e["payload"].get("sha256") == op.sha256
                                       and e["stream"] == op.stream_id for e in uploads):
            found.missing.append(f"upload {op.key}")
        if len(recorded) > 1:
            found.doubled.append(f"upload {op.key}: {len(recorded)} events")
        return
    ids = {str(e["id"]) for e in recorded}
    if op.acknowledged:
        if not set(op.events) <= ids:
            found.missing.append(f"{op.name} {op.key}: {len(set(op.events) - ids)} events")
        if ids - set(op.events):
            found.doubled.append(f"{op.name} {op.key}: {len(ids - set(op.events))} events "
                                 "beyond those acknowledged")
    elif recorded:
        found.unanswered += 1
    # an item is added to its departure and begun as a stream of its own, in one commit
    if op.name == "add_item" and recorded and len({e["stream"] for e in recorded}) < 2:
        found.half.append(f"add_item {op.key}: {len(recorded)} events in one stream")


async def _check_log(storage: Storage, hashes: list[bytes], found: Findings) -> None:
    found.log_size = await storage.projections.log_size()
    indexes = await storage.log.find_indexes(hashes)
    found.not_logged += [h.hex() for h in hashes if h not in indexes]
    found.not_logged += [f"log index {a} repeats {b}"
                         for a, b in await storage.log.duplicate_entries(100)]
    if found.log_size != len(hashes):
        found.not_logged.append(f"log size {found.log_size} for {len(hashes)} events")


async def _check_files(storage: Storage, settings: Settings, found: Findings) -> None:
    """Re-hash every stored file; list what an upload left in the temporary folder."""
    root = settings.data_dir / "blobs"
    if settings.blob_store == "filesystem" or (settings.blob_store is None and root.exists()):
        found.temporary_files += [p.name for p in (root / "tmp").glob("*")]
        names = [p.name for p in root.glob("*/*/*") if p.parent.parent.name != "tmp"]
    else:
        names = [str(r["sha256"]) for r in await storage.projections.fetch(
            "SELECT sha256 FROM blobs")]
    for name in names:
        digest = hashlib.sha256()
        async for chunk in storage.blobs.read(name):
            digest.update(chunk)
        if digest.hexdigest() != name:
            found.bad_files.append(name)


Row = tuple[tuple[str, object], ...]  # a table row, hashable: compared as multisets


async def _board_against_rebuild(settings: Settings) -> tuple[int, int, int, list[str]]:
    """Bring the board the server kept to the log's end (what a stopped server left for
    its next start: the scheduler may write after the last check that it was caught up),
    then rebuild it from the log into fresh tables and compare the two, row by row: (entries
    caught up, rows compared, rows that differ, a few of those, each marked ``kept`` or
    ``rebuilt``)."""
    storage = await open_storage(settings)
    try:
        behind = await ProjectionRunner(storage.projections, BoardProjector()).catch_up()

        async def snapshot() -> dict[str, list[Row]]:
            state = {s.name: s for s in await storage.projections.states()}["board"]
            return {table: [tuple(sorted(dict(r).items())) for r in
                            await storage.projections.fetch(f"SELECT * FROM {name}")]
                    for table, name in tables(state.generation).items()}

        kept = await snapshot()
        await ProjectionRunner(storage.projections, BoardProjector()).rebuild()
        rebuilt = await snapshot()
    finally:
        await storage.store.close()
    samples = [f"{side} {table}: {dict(row)}" for table in kept
               for side, rows, other in (("kept", kept[table], rebuilt[table]),
                                         ("rebuilt", rebuilt[table], kept[table]))
               for row in (Counter(rows) - Counter(other)).elements()]
    return behind, sum(len(rows) for rows in kept.values()), len(samples), samples[:10]


async def _check_reminders(storage: Storage, everything: list[dict[str, object]],
                           found: Findings) -> None:
    """Each reminder the scheduler recorded is one command under its own key
    (``scheduler:{rule}:{target}:{period}``): as many reminder events as such keys, however
    often the scheduler was killed mid-turn and started again."""
    found.reminders = sum(1 for e in everything if e["type"] == "DepartureReminderSent")
    keys = await storage.projections.fetch(
        "SELECT count(*) AS n FROM idempotency WHERE key LIKE '%scheduler:%'")
    if found.reminders != int(keys[0]["n"]):
        found.doubled.append(f"{found.reminders} reminders under {keys[0]['n']} scheduler keys")


def run_verify(environment: dict[str, str], cwd: Path) -> tuple[int, str]:
    """``ledger verify`` (files included) as the operator runs it: exit code and output."""
    done = subprocess.run([sys.executable, "-m", "ledger.cli", "verify"], cwd=cwd,
                          env={**environment, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=600)
    return done.returncode, done.stdout + done.stderr


async def examine(ops: list[Op], database_url: str, folder: Path,
                  environment: dict[str, str]) -> Findings:
    """Every check, on the ledger of a stopped server (``folder``: the Fleet's folder)."""
    settings = Settings(database_url=database_url, data_dir=folder / "data")
    found = Findings(acknowledged=sum(op.acknowledged for op in ops),
                     replayed=sum(op.replayed for op in ops))
    storage = await open_storage(settings)
    try:
        by_request = await _recorded(storage)
        everything = [e for events in by_request.values() for e in events]
        found.events = len(everything)
        for op in ops:
            _judge(op, by_request.pop(op.key, []), found)
        found.half += [f"{len(v)} events under unknown request {k!r}"
                       for k, v in by_request.items() if k.startswith("fault-")]
        counts = Counter(str(e["id"]) for e in everything)
        found.doubled += [i for i, n in counts.items() if n > 1]
        await _check_log(storage, [bytes.fromhex(str(e["hash"])) for e in everything], found)
        await _check_files(storage, settings, found)
        await _check_reminders(storage, everything, found)
    finally:
        await storage.store.close()
    found.verify_exit, found.verify_output = run_verify(environment, folder)
    (found.board_behind, found.board_rows, found.board_differ,
     found.board_samples) = await _board_against_rebuild(settings)
    return found
