"""PostgreSQL restarted under load: a lone ``ledger serve`` on a PostgreSQL cluster this
script makes for itself (initdb + pg_ctl on a free loopback port, removed at the end: the
machine's own server is never restarted), under the load of client tasks walking handover
cases (commands under idempotency keys, retried until answered 2xx; file uploads) and a
reader of the board and the checkpoint, while the cluster is, ``--rounds`` times, restarted
(``pg_ctl restart -m fast``) and crashed (``pg_ctl stop -m immediate``, held down
``--hold`` seconds, started again). The service is never restarted. Prints, per outage, how
long the database was away, what the clients got meanwhile (503 with Retry-After expected,
nothing else), how soon a command succeeded and ``/readyz`` answered 200 again; then checks
that every acknowledged command is in the ledger exactly once, nothing is half-written,
``ledger verify`` passes and the board equals a rebuild.

    python scripts/fault_pg.py --rounds 5 --every 6 --hold 3

With ``--freeze``, the cluster is instead hung once: every process of it SIGSTOPped for
``--hold`` seconds (the kernel still accepts connections, nothing answers: a network
partition), then SIGCONT; the service runs with ``--timeouts`` (LEDGER_DB_CONNECT, _ACQUIRE,
_COMMAND_TIMEOUT_SECONDS; the service's defaults unless given). A GET, a POST and ``/readyz``
sent into the freeze must answer 503 within acquire + command + 2 s, and so must every
attempt of the load (tests/support/pg_freeze_run.py).

    python scripts/fault_pg.py --freeze --hold 30

Uses tests/support/pg_restart_run.py (the CI version is tests/e2e/test_fault_pg.py). Exits 1
when a check fails, an outage answered anything but 503, or the service did not recover
within ``--recover`` seconds (the log, after the last outage: 5 s more, the sequencer's
longest back-off)."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ledger.store.timeouts import SERVICE
from tests.support import pg_freeze_run
from tests.support.pg_restart_run import RestartReport, describe, restart_run
from tests.support.private_cluster import PrivateCluster, make_cluster
from tests.support.streaming_replica import server_programs


def _failed(report: RestartReport, recover: float) -> bool:
    return (not report.server_survived or bool(report.findings.problems())
            or report.given_up > 0 or report.tally.without_retry_after > 0
            or any(set(o.answers) - {"503", "GET 503"} for o in report.outages)
            or any(o.recovered_after is None or o.recovered_after > recover
                   or o.ready_after is None or o.ready_after > recover
                   for o in report.outages)
            # the log is watched until the next outage: only the last one's window is sure
            # to outlast the sequencer's back-off
            or (bool(report.outages) and (report.outages[-1].logging_after is None
                                          or report.outages[-1].logging_after > recover + 5)))


def _summary(report: RestartReport) -> list[str]:
    lines = []
    for kind in sorted({o.kind for o in report.outages}):
        seen = [o for o in report.outages if o.kind == kind]
        down = [o.down for o in seen]
        back = [o.recovered_after for o in seen if o.recovered_after is not None]
        lines.append(f"{kind} x{len(seen)}: away median {statistics.median(down):.2f}s "
                     f"(max {max(down):.2f}s); 503s {sum(o.answers['503'] for o in seen)} "
                     f"commands + {sum(o.answers['GET 503'] for o in seen)} reads; next 2xx "
                     + (f"median {statistics.median(back):.2f}s, max {max(back):.2f}s"
                        if back else "never"))
    return lines


def _freeze_failed(report: pg_freeze_run.FreezeReport, recover: float) -> bool:
    _, acquire, command = report.timeouts
    bound = acquire + command + 2.0
    return (not report.server_survived or bool(report.findings.problems())
            or report.given_up > 0 or report.tally.without_retry_after > 0
            or any(p.status != 503 or p.seconds > bound for p in report.probes.values())
            or bool(pg_freeze_run.unexpected(report))
            or report.slowest > bound
            or any(after is None or after > recover for after in (
                report.recovered_after, report.ready_after, report.probe_acknowledged_after))
            or report.logging_after is None or report.logging_after > recover + 5)


async def freeze(args: argparse.Namespace, cluster: PrivateCluster, folder: Path) -> int:
    """The ``--freeze`` run; its exit status."""
    report = await pg_freeze_run.freeze_run(cluster, folder, hold=args.hold,
                                            clients=args.clients, timeouts=args.timeouts)
    print("\n".join(pg_freeze_run.describe(report)))
    failed = _freeze_failed(report, args.recover)
    print("FAILED" if failed else "ok")
    return 1 if failed else 0


def _timeouts(value: str) -> tuple[float, float, float]:
    try:
        connect, acquire, command = (float(v) for v in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            "three numbers of seconds: connect,acquire,command") from None
    return connect, acquire, command


async def run(args: argparse.Namespace) -> int:
    programs = server_programs()
    if programs is None:
        print("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
        return 2
    cluster = await asyncio.to_thread(make_cluster, programs)
    folder = Path(tempfile.mkdtemp(prefix="fault-pg-"))
    try:
        if args.freeze:
            return await freeze(args, cluster, folder)
        report = await restart_run(cluster, folder, rounds=args.rounds, every=args.every,
                                   hold=args.hold, clients=args.clients)
    finally:
        await asyncio.to_thread(cluster.remove)
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print("\n".join(describe(report) + _summary(report)))
    failed = _failed(report, args.recover)
    print("FAILED" if failed else "ok")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5,
                        help="each round: a fast restart, then an immediate stop")
    parser.add_argument("--every", type=float, default=6.0, help="seconds between outages")
    parser.add_argument("--hold", type=float, default=3.0,
                        help="seconds an immediate stop keeps the database down")
    parser.add_argument("--clients", type=int, default=6, help="concurrent client tasks")
    parser.add_argument("--recover", type=float, default=5.0,
                        help="most seconds, once the database is back, to a 2xx and /readyz 200")
    parser.add_argument("--keep", action="store_true", help="keep the server logs")
    parser.add_argument("--freeze", action="store_true",
                        help="hang the cluster (SIGSTOP) --hold seconds instead")
    parser.add_argument("--timeouts", type=_timeouts, default=(
        SERVICE.connect, SERVICE.acquire, SERVICE.command),
        help="with --freeze: connect,acquire,command seconds (default: the service's)")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
