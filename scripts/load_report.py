"""scripts/load.py's output: the summary table and verdicts (rich) and the plot over time
(matplotlib, written as PNG without a display)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def print_summary(result: dict[str, Any], title: str) -> None:
    """The table by route (reads first), the totals, the resources and the verdicts."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 120))
    table = Table(title=title)
    for column in ("route", "requests", "req/s", "p50 ms", "p99 ms", "max ms", "errors"):
        table.add_column(column, justify="left" if column == "route" else "right",
                         no_wrap=True)

    def row(name: str, f: dict[str, Any], style: str | None = None) -> None:
        table.add_row(name, f"{f['requests']:,}", f"{f['per_second']:,.1f}",
                      f"{f['p50_ms']:.1f}", f"{f['p99_ms']:.1f}", f"{f['max_ms']:.1f}",
                      str(f["errors"]), style=style)

    for kind in ("read", "command"):
        for name, f in result["routes"].items():
            if f["kind"] == kind:
                row(name, f)
        row(f"all {kind}s", result["kinds"][kind], "bold")
        table.add_section()
    console.print(table)
    console.print(f"{result['requests']:,} requests in {result['seconds']:.0f} s = "
                  f"{result['per_second']:,.1f}/s; errors {result['errors']} "
                  f"({result['error_rate']:.3%})", highlight=False)
    opened = result.get("open")
    if opened:
        steps = result.get("handover_steps") or {}
        made = ", ".join(f"{n:,} {kind}" for kind, n in steps.items())
        console.print(f"{result.get('workload', '')} workload: open cases "
                      f"{opened['start']['cases']:,} → {opened['end']['cases']:,}, open items "
                      f"{opened['start']['items']:,} → {opened['end']['items']:,} (the board's, "
                      "at the start and the end)"
                      + (f"; handover steps made: {made}" if made else ""), highlight=False)
    for name, f in result["routes"].items():
        for error, count in f["error_kinds"].items():
            console.print(f"  {name}: {count} × {error}", highlight=False, markup=False)
    rss = result["rss"]
    samples = result["samples"]
    console.print(f"server RSS: {rss['after_warmup_mib']:.0f} MiB after the "
                  f"{rss['warmup_s']:.0f} s warm-up, peak {rss['peak_after_warmup_mib']:.0f} "
                  f"MiB ({rss['growth']:+.1%}), {rss['end_mib']:.0f} MiB at the end; "
                  f"trend {rss['mib_per_minute']:+.1f} MiB/min; anonymous (heap) "
                  f"{rss['anon_after_warmup_mib']:.0f} → {rss['anon_end_mib']:.0f} MiB",
                  highlight=False)
    if "cache_end_mib" in rss:
        console.print(f"of which the caches' packed entries (/metrics ledger_cache_bytes): "
                      f"{rss['cache_after_warmup_mib']:.1f} → {rss['cache_end_mib']:.1f} MiB, "
                      f"{rss['cache_entries_after_warmup']:,} → {rss['cache_entries_end']:,} "
                      "entries", highlight=False)
    console.print(f"CPU: the server {result['cpu']['server_percent_of_a_core']:.0f}% of one "
                  f"core, the machine {result['cpu']['machine_percent']:.0f}% busy "
                  f"({os.cpu_count()} CPUs, PostgreSQL, the clients and anything else "
                  "running)", highlight=False)
    if samples:
        console.print(
            "open connections: PostgreSQL (pg_stat_activity) "
            f"{min(s['pg_connections'] for s in samples)}–"
            f"{max(s['pg_connections'] for s in samples)}, server TCP sockets "
            f"{min(s['server_sockets'] for s in samples)}–"
            f"{max(s['server_sockets'] for s in samples)} (clients "
            f"{max(s['inbound'] for s in samples)} at most)", highlight=False)
    lag = result.get("event_loop_lag")
    if lag and lag["wakeups"]:
        late = ", ".join(f"{n} over {float(b) * 1000:g} ms" for b, n in
                         lag["late_over_s"].items() if float(b) >= 0.01 and n)
        console.print(f"event loop (ledger_event_loop_lag_seconds): {lag['wakeups']:,} "
                      f"wake-ups, late {late or 'by under 10 ms every time'}", highlight=False)
    vacuumed = result.get("autovacuum_stand_in")
    if vacuumed:
        console.print("autovacuum off: the run's stand-in (scripts/load_autovacuum.py) made "
                      + ", ".join(f"{n} {kind}" for kind, n in sorted(vacuumed.items()))
                      + " table passes", highlight=False)
    verify = result.get("verify")
    if verify is not None:
        console.print(f"ledger verify: exit {verify['exit']} in {verify['seconds']:.1f} s: "
                      f"{verify['last_line']}", highlight=False, markup=False)
    for name, met in result["verdicts"].items():
        console.print(f"  target {name}: {'met' if met else 'NOT met'}", highlight=False)


def plot(result: dict[str, Any], path: Path, title: str) -> None:
    """Throughput, read p99, RSS, open connections and open cases and items over time,
    one panel each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = result["samples"]
    t = [s["t"] for s in samples]
    spans = [b - a for a, b in zip([0.0, *t], t, strict=False)]
    fig, axes = plt.subplots(5, 1, sharex=True, figsize=(10, 13))
    rate = axes[0]
    rate.plot(t, [s["reads"] / d if d else 0 for s, d in zip(samples, spans, strict=True)],
              label="reads/s")
    rate.plot(t, [s["commands"] / d if d else 0 for s, d in zip(samples, spans, strict=True)],
              label="commands/s")
    rate.plot(t, [s["errors"] for s in samples], label="errors", color="red")
    rate.set_ylabel("requests per second")
    axes[1].plot(t, [s["read_p99_ms"] for s in samples], label="read p99 (interval)")
    axes[1].axhline(50, color="red", linestyle=":", label="target 50 ms")
    axes[1].set_ylabel("ms")
    axes[2].plot(t, [s["rss_mib"] for s in samples], label="server RSS")
    axes[2].plot(t, [s["anon_mib"] for s in samples], label="of which anonymous (heap)")
    axes[2].plot(t, [s.get("cache_mib", 0) for s in samples], label="of which caches (packed)")
    axes[2].axvline(result["rss"]["warmup_s"], color="grey", linestyle=":", label="warm-up")
    axes[2].set_ylabel("MiB")
    axes[2].set_ylim(bottom=0)
    axes[3].plot(t, [s["pg_connections"] for s in samples], label="PostgreSQL connections")
    axes[3].plot(t, [s["pg_active"] for s in samples], label="of which active")
    axes[3].plot(t, [s["server_sockets"] for s in samples], label="server TCP sockets")
    axes[3].set_ylabel("connections")
    axes[4].plot(t, [s.get("open_items", 0) for s in samples], label="open items")
    axes[4].plot(t, [s.get("open_cases", 0) for s in samples], label="open cases")
    axes[4].set_ylabel("open (the board's)")
    axes[4].set_ylim(bottom=0)
    axes[4].set_xlabel("seconds into the run")
    for ax in axes:
        ax.legend(loc="upper left", fontsize="small")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
