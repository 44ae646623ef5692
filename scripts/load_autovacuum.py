"""scripts/load.py's stand-in for autovacuum, on a PostgreSQL server where it is off (this
machine's test server): each turn does what autovacuum's launcher would, table by table, with
the server's own settings (PostgreSQL 15 "Automatic Vacuuming"; defaults in brackets):

- VACUUM a table whose dead rows exceed ``autovacuum_vacuum_threshold`` (50) +
  ``autovacuum_vacuum_scale_factor`` (0.2) × its rows, or whose rows inserted since its last
  vacuum exceed ``autovacuum_vacuum_insert_threshold`` (1000) +
  ``autovacuum_vacuum_insert_scale_factor`` (0.2) × its rows;
- ANALYZE a table whose rows changed since its last analysis exceed
  ``autovacuum_analyze_threshold`` (50) + ``autovacuum_analyze_scale_factor`` (0.1) × its rows;

both in one ``VACUUM (ANALYZE)`` when both are due. Tables below the thresholds are left
alone, as autovacuum leaves them: a blanket database-wide ``ANALYZE`` every minute (what the
run did before) re-sampled every table, and never removed the dead rows that updated read-model
rows and the log's drained queue leave behind.
"""

from __future__ import annotations

from collections import Counter

import asyncpg

NAPTIME_SECONDS = 60.0  # PostgreSQL's default autovacuum_naptime

_DUE = """
SELECT s.schemaname, s.relname,
       s.n_dead_tup > current_setting('autovacuum_vacuum_threshold')::float8
         + current_setting('autovacuum_vacuum_scale_factor')::float8 * greatest(c.reltuples, 0)
       OR s.n_ins_since_vacuum > current_setting('autovacuum_vacuum_insert_threshold')::float8
         + current_setting('autovacuum_vacuum_insert_scale_factor')::float8
           * greatest(c.reltuples, 0) AS vacuum,
       s.n_mod_since_analyze > current_setting('autovacuum_analyze_threshold')::float8
         + current_setting('autovacuum_analyze_scale_factor')::float8
           * greatest(c.reltuples, 0) AS analyze
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
ORDER BY s.relname
"""


async def autovacuum_turn(pg: asyncpg.Connection, done: Counter[str]) -> None:
    """One turn over the database ``pg`` is connected to; counts into ``done`` how many
    times each of "vacuum", "analyze" and "vacuum+analyze" ran."""
    for row in await pg.fetch(_DUE):
        name = ".".join('"' + part.replace('"', '""') + '"'
                        for part in (row["schemaname"], row["relname"]))
        if row["vacuum"] and row["analyze"]:
            await pg.execute(f"VACUUM (ANALYZE) {name}")
            done["vacuum+analyze"] += 1
        elif row["vacuum"]:
            await pg.execute(f"VACUUM {name}")
            done["vacuum"] += 1
        elif row["analyze"]:
            await pg.execute(f"ANALYZE {name}")
            done["analyze"] += 1
