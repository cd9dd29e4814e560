"""Benchmark the weekly pipeline snapshot at 1,000,000 opportunities.

    .venv/bin/python bench/snapshot.py [--rows 1000000] [--runs 3]

Database: ``salesops_bench_snapshot`` on the server of ``DATABASE_URL`` (or
``BENCH_SNAPSHOT_DATABASE_URL``), created and migrated when missing; never the dev or test
database. Seeding reuses bench/seed.py (database, migrations, the demo people and "New
business" pipeline of seed_demo, 2,000 accounts) and the set-based opportunity seeder of
bench/flags.py (``INSERT … SELECT generate_series``: 60 % open over the five open stages,
22 % won, 18 % lost; ~1M rows in a few minutes, where bench/seed.py's ``bulk_create``
would take far longer). Seeding only adds rows up to ``--rows``.

The snapshot table is emptied first. Then, ``--runs`` times, for consecutive weeks (the
service's ``now`` moved on a week each time, so each week starts empty while the table
holds the previous weeks, as in production):
  cold    the week's first run: every open deal inserted;
  rerun   the same week again: nothing inserted.
Wall clock of the call and its query count (CaptureQueriesContext). Prints a table and
writes JSON to bench/results/snapshot-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import flags as bench_flags
from bench import seed as bench_seed

ROOT = bench_seed.ROOT
RESULTS = ROOT / "bench" / "results"
BENCH_DB = "salesops_bench_snapshot"
TARGET_S = 60.0
ENV = {"DEBUG": "0", "SECRET_KEY": "bench-only-secret-key-" + "x" * 40}


def database_url() -> str:
    return bench_seed.database_url_for(BENCH_DB, "BENCH_SNAPSHOT_DATABASE_URL")


def measure(label: str, now: dt.datetime) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from forecasting.services import pipeline_snapshot_take

    load = os.getloadavg()[0]
    with CaptureQueriesContext(connection) as ctx:
        t0 = time.perf_counter()
        result = pipeline_snapshot_take(now=now)
        seconds = time.perf_counter() - t0
    if os.environ.get("BENCH_SNAPSHOT_SHOW_SQL"):
        for q in ctx.captured_queries:
            print(f"  [{label}] {q['time']} s  {q['sql'][:100]!r}")
    return {
        "scenario": label,
        "week": result.week.isoformat(),
        "seconds": round(seconds, 3),
        "queries": len(ctx.captured_queries),
        "inserted": result.inserted,
        "skipped_existing": result.skipped_existing,
        "load_1m": round(load, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    url = database_url()
    bench_seed.ensure_database(url)
    bench_seed.setup_django(url, **ENV)
    bench_seed.migrate()
    bench_seed.ensure_base()

    from django.db import connection
    from django.utils import timezone

    from forecasting import rules
    from forecasting.services import local_today
    from pipeline.models import Opportunity

    if (have := Opportunity.objects.count()) > args.rows:
        sys.exit(f"{BENCH_DB} holds {have:,} opportunities, more than {args.rows:,}")
    seed_s = bench_flags.seed(args.rows)
    with connection.cursor() as cur:
        cur.execute("TRUNCATE forecasting_pipelinesnapshot RESTART IDENTITY")
        cur.execute("VACUUM ANALYZE forecasting_pipelinesnapshot")
        cur.execute("SELECT count(*) FILTER (WHERE status = 'open') FROM pipeline_opportunity")
        open_deals = cur.fetchone()[0]
    tz = timezone.get_default_timezone()
    monday = rules.week_start(local_today())
    rows = []
    for i in range(args.runs):
        # 03:00 on a Monday, a week later each run (after the 02:00 beat time).
        now = dt.datetime.combine(monday + dt.timedelta(weeks=i), dt.time(3), tzinfo=tz)
        rows.append(measure("cold", now))
        rows.append(measure("rerun", now))
        print(f"  run {i + 1}: cold {rows[-2]['seconds']:.2f} s, rerun {rows[-1]['seconds']:.2f} s")
    print(f"\n{args.rows:,} opportunities ({open_deals:,} open)")
    print(
        f"{'scenario':<8} {'week':<11} {'seconds':>8} {'queries':>7} {'inserted':>9} {'skipped':>9}"
    )
    for r in rows:
        print(
            f"{r['scenario']:<8} {r['week']:<11} {r['seconds']:>8.3f} {r['queries']:>7} "
            f"{r['inserted']:>9,} {r['skipped_existing']:>9,}"
        )
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        server = cur.fetchone()[0]
        cur.execute("SELECT pg_total_relation_size('forecasting_pipelinesnapshot')")
        table_bytes = cur.fetchone()[0]
    print(f"snapshot table with its indexes: {table_bytes / 2**20:.0f} MB")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"snapshot-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(
        json.dumps(
            {
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "postgres": server,
                    "loadavg": os.getloadavg(),
                },
                "rows": args.rows,
                "open": open_deals,
                "seed_seconds": round(seed_s, 1),
                "target_s": TARGET_S,
                "snapshot_table_bytes": table_bytes,
                "runs": rows,
            },
            indent=2,
        )
    )
    print(f"\nwrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
