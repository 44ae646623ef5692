"""The full-disk fault test (issue 13), shared by tests/integration/test_full_disk.py (CI)
and scripts/full_disk.py: a real ``ledger serve`` whose data folder and temporary folder lie
on a small filesystem of its own (tests/support/small_disk.py), one handover item, and
uploads through ``POST /v1/items/{id}/evidence`` while that disk is full.

1. A first file is uploaded (201).
2. The disk is filled to ``room`` bytes and a larger file is uploaded: the blob store fails
   part way (ENOSPC on the filesystem store's temporary file; on the PostgreSQL store, on
   the spool that hashes the upload before it is named). Expected: 507 problem+json with
   Retry-After, no event for it, no blob named after it, no temporary file left.
3. The disk is filled to the last byte and a comment (an event without a file) is posted:
   on SQLite, whose file is on that disk, 507 too; on PostgreSQL it succeeds.
4. PostgreSQL only: the database's own disk is full for the blob chunks (a quota trigger
   raising PostgreSQL's ``disk_full``, SQLSTATE 53100, part way through a file): 507, no
   blob row and no chunk left.
5. The space returns: the same uploads succeed and download unchanged; ``/readyz`` is ready
   again; ``ledger verify`` (chains, log, every file re-hashed) passes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from tests.support.fleet import Fleet, Served
from tests.support.small_disk import SmallDisk, small_disk_prefix

DISK_BYTES = 16 << 20
UPLOAD = "ItemEvidenceUploaded"
PEOPLE = {"hr.sun": ("孙 HR", ["hr"]), "wang.lei": ("王磊", ["employee"]),
          "li.qiang": ("李强", ["employee"]), "zhao.min": ("赵敏", ["employee"])}
_QUOTA = """
CREATE TABLE fault_disk (room BIGINT NOT NULL);
INSERT INTO fault_disk VALUES ($ROOM);
CREATE FUNCTION fault_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF octet_length(NEW.data) > (SELECT room FROM fault_disk) THEN
    RAISE EXCEPTION 'could not extend file: No space left on device'
      USING ERRCODE = 'disk_full';
  END IF;
  UPDATE fault_disk SET room = room - octet_length(NEW.data);
  RETURN NEW;
END $$;
CREATE TRIGGER fault_disk_full BEFORE INSERT ON blob_chunks
  FOR EACH ROW EXECUTE FUNCTION fault_disk_full();
"""


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, read to the end."""

    step: str
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def problem(self) -> dict[str, Any]:
        """The problem document (empty when the answer is not one)."""
        if self.headers.get("Content-Type", "").startswith("application/problem+json"):
            document: dict[str, Any] = json.loads(self.body)
            return document
        return {}


@dataclass
class Findings:
    """What one run saw, and the expectations it broke (``problems``)."""

    store: str
    answers: list[Answer] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    uploaded: list[str] = field(default_factory=list)  # digests the item's events record
    verify_exit: int | None = None

    def expect(self, ok: bool, what: str) -> None:
        """Note ``what`` when ``ok`` is false."""
        if not ok:
            self.problems.append(what)

    def refused_full(self, answer: Answer) -> None:
        """``answer`` must be the documented 507."""
        problem = answer.problem()
        self.expect(answer.status == 507 and problem.get("status") == 507
                    and answer.headers.get("Retry-After", "").isdigit()
                    and b"Traceback" not in answer.body,
                    f"{answer.step}: wanted 507 problem+json with Retry-After, got "
                    f"{answer.status} {answer.body[:200]!r}")


@dataclass
class Client:
    """The cast's HTTP client against one server."""

    session: aiohttp.ClientSession
    base: str
    tokens: dict[str, str] = field(default_factory=dict)

    async def call(self, step: str, method: str, path: str, who: str, **kw: Any) -> Answer:
        start = time.monotonic()
        async with self.session.request(method, self.base + path, headers={
                "Authorization": f"Bearer {self.tokens[who]}"}, **kw) as reply:
            body = await reply.read()
            return Answer(step, reply.status, dict(reply.headers), body,
                          time.monotonic() - start)

    async def ok(self, step: str, method: str, path: str, who: str, **kw: Any) -> Any:
        answer = await self.call(step, method, path, who, **kw)
        assert answer.status < 300, (step, answer.status, answer.body[:500])
        return json.loads(answer.body) if answer.body else None

    async def upload(self, step: str, item: str, content: bytes) -> Answer:
        form = aiohttp.FormData()
        form.add_field("file", content, filename=f"{step}.pdf", content_type="application/pdf")
        return await self.call(step, "POST", f"/v1/items/{item}/evidence", "wang.lei",
                               data=form)

    async def uploads(self, item: str) -> list[str]:
        """The digests the item's upload events record, in order."""
        page = await self.ok("events", "GET", f"/v1/streams/{item}/events", "hr.sun")
        entries = [json.loads(e["entry"]) for e in page["items"]]
        return [e["payload"]["sha256"] for e in entries if e["type"] == UPLOAD]


async def cast_and_item(client: Client, operator: str) -> str:
    """The cast (through the operator's API) and an approved case's item; its id."""
    client.tokens["admin"] = operator
    for who, (name, roles) in PEOPLE.items():
        await client.ok("principal", "POST", "/v1/principals", "admin",
                        json={"id": who, "name": name, "roles": roles})
        token = await client.ok("token", "POST", f"/v1/principals/{who}/tokens", "admin",
                                json={"label": "full-disk"})
        client.tokens[who] = token["token"]
    started = await client.ok("start", "POST", "/v1/departures", "hr.sun", json={
        "leaver": {"id": "wang.lei", "name": "王磊", "department": "Sales",
                   "position": "Account manager", "role_family": "sales"},
        "manager_id": "li.qiang", "hr_owner_id": "hr.sun", "notice_date": "2026-11-01",
        "last_working_day": "2026-11-30", "reason": "resigned",
        "approval_chain": [{"name": "manager", "approver_id": "li.qiang"}]})
    case = started["result"]["departure_id"]
    await client.ok("submit", "POST", f"/v1/departures/{case}/submit", "hr.sun")
    await client.ok("approve", "POST", f"/v1/departures/{case}/approvals/0/approve",
                    "li.qiang")
    added = await client.ok("item", "POST", f"/v1/departures/{case}/items", "hr.sun", json={
        "category": "documents", "title": "项目文档", "receiver": "zhao.min",
        "mandatory": False})
    return str(added["result"]["item_id"])


def content(label: str, size: int) -> bytes:
    """``size`` bytes that differ for every label (so every file is a new blob)."""
    seed = hashlib.sha256(label.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


async def run_full_disk(store: str, folder: Path, dsn: str, big: int = 3 << 20,
                        room: int = 1 << 20) -> Findings:
    """One run on ``store`` (``sqlite``: filesystem blobs on the small disk beside the
    database file; ``postgres``: blobs in the database ``dsn``, the spool on the small
    disk); ``big`` is the file that does not fit in ``room`` (on PostgreSQL, in ``room``
    plus the MiB the spool keeps in memory)."""
    mount = folder / "data"
    mount.mkdir(parents=True)
    url = f"sqlite:///{mount}/ledger.db" if store == "sqlite" else dsn
    fleet = Fleet(url, folder, env={"TMPDIR": str(mount / "tmp"), "LEDGER_SCHEDULER": "off"},
                  prefix=small_disk_prefix(mount, DISK_BYTES))
    found = Findings(store)
    served = await fleet.start()
    try:
        disk = SmallDisk(served, mount)
        operator = served.text().split("bootstrap operator token (shown once): ")[1].split()[0]
        async with aiohttp.ClientSession() as session:
            client = Client(session, served.base)
            item = await cast_and_item(client, operator)
            await _steps(client, disk, item, found, dsn if store == "postgres" else None,
                         big, room)
            found.uploaded = await client.uploads(item)
        found.verify_exit = await _verify(fleet, served, disk)
        found.expect(found.verify_exit == 0, f"ledger verify exited {found.verify_exit}")
    finally:
        await fleet.stop()
    return found


async def _steps(client: Client, disk: SmallDisk, item: str, found: Findings,
                 dsn: str | None, big: int, room: int) -> None:
    first, large = content("first", 64 << 10), content("large", big)
    answer = await client.upload("first upload", item, first)
    found.answers.append(answer)
    found.expect(answer.status == 201, f"first upload: {answer.status}")

    disk.fill(leave=room)
    answer = await client.upload("upload on a full disk", item, large)
    found.answers.append(answer)
    found.refused_full(answer)
    await _nothing_left(client, disk, item, found, large, dsn)

    disk.fill(leave=0)
    answer = await client.call("comment on a full disk", "POST", f"/v1/items/{item}/comments",
                               "wang.lei", json={"text": "the disk is full"})
    found.answers.append(answer)
    if dsn is None:
        found.refused_full(answer)
    else:
        found.expect(answer.status == 201, f"comment beside a full spool: {answer.status}")

    disk.free()
    answer = await client.upload("upload once space returns", item, large)
    found.answers.append(answer)
    found.expect(answer.status == 201, f"upload once space returns: {answer.status}")
    await _downloads(client, item, large, found)
    if dsn is not None:
        await _database_full(client, item, found, dsn)
    await _ready(client, found)
    found.expect(disk.files("tmp") == [], f"temporary files left: {disk.files('tmp')}")


async def _nothing_left(client: Client, disk: SmallDisk, item: str, found: Findings,
                        refused: bytes, dsn: str | None) -> None:
    digest = hashlib.sha256(refused).hexdigest()
    found.expect(digest not in await client.uploads(item), "an event cites the refused file")
    if dsn is None:
        left = [f for f in disk.files("blobs") if f.startswith("tmp/") or f.endswith(digest)]
        found.expect(left == [], f"the blob store kept {left}")
    else:
        found.expect(await _blob_rows(dsn, digest) == (0, 0), "the database kept the file")
    found.expect(disk.files("tmp") == [], f"temporary files left: {disk.files('tmp')}")


async def _blob_rows(dsn: str, digest: str) -> tuple[int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        blobs = await conn.fetchval("SELECT count(*) FROM blobs WHERE sha256 = $1", digest)
        chunks = await conn.fetchval("SELECT count(*) FROM blob_chunks WHERE sha256 = $1",
                                     digest)
        return int(blobs), int(chunks)
    finally:
        await conn.close()


async def _database_full(client: Client, item: str, found: Findings, dsn: str) -> None:
    """The database's disk fills part way through a file's chunks; then space returns."""
    refused = content("database full", 700 << 10)  # three chunks; the second does not fit
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(_QUOTA.replace("$ROOM", str(300 << 10)))
        answer = await client.upload("upload on a full database", item, refused)
        found.answers.append(answer)
        found.refused_full(answer)
        digest = hashlib.sha256(refused).hexdigest()
        found.expect(await _blob_rows(dsn, digest) == (0, 0), "the database kept a part")
        found.expect(digest not in await client.uploads(item), "an event cites it")
        await conn.execute("DROP TRIGGER fault_disk_full ON blob_chunks; "
                           "DROP FUNCTION fault_disk_full(); DROP TABLE fault_disk")
    finally:
        await conn.close()
    answer = await client.upload("upload once the database has room", item, refused)
    found.answers.append(answer)
    found.expect(answer.status == 201, f"upload once the database has room: {answer.status}")
    await _downloads(client, item, refused, found)


async def _downloads(client: Client, item: str, expected: bytes, found: Findings) -> None:
    digest = hashlib.sha256(expected).hexdigest()
    answer = await client.call("download", "GET", f"/v1/items/{item}/evidence/{digest}",
                               "hr.sun")
    found.expect(answer.status == 200 and answer.body == expected,
                 f"download of {digest[:12]}: {answer.status}, {len(answer.body)} bytes")


async def _ready(client: Client, found: Findings, within: float = 10.0) -> None:
    """``/readyz`` must come back to 200 once space returned (no worker stuck on it)."""
    deadline = time.monotonic() + within
    while True:
        async with client.session.get(client.base + "/readyz") as reply:
            body = await reply.read()
            if reply.status == 200:
                return
        if time.monotonic() > deadline:
            found.expect(False, f"/readyz still {reply.status}: {body[:300]!r}")
            return
        await asyncio.sleep(0.2)


async def _verify(fleet: Fleet, served: Served, disk: SmallDisk) -> int:
    """``ledger verify``, run where the server runs (in its mount namespace), over what it
    wrote; its exit status."""
    process = await asyncio.create_subprocess_exec(
        *disk.enter(), sys.executable, "-m", "ledger.cli", "verify", cwd=fleet.folder,
        env=fleet.environment(), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate()
    if process.returncode:
        print(output.decode(errors="replace")[-2000:], file=sys.stderr)
    assert served.process.returncode is None, "the server died"
    return process.returncode or 0
