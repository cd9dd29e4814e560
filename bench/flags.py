"""Benchmark the attention-flag refresh at 100,000 and 1,000,000 opportunities.

    .venv/bin/python bench/flags.py [--sizes 100000,1000000] [--reset]

Database: ``salesops_bench_flags`` on the server of ``DATABASE_URL`` (or
``BENCH_FLAGS_DATABASE_URL``), created and migrated when missing; never the dev or test
database. Seeding is set-based (``INSERT … SELECT generate_series``): the demo people and
"New business" pipeline (MEDDICC) from seed_demo, then the opportunities and ~0.5
qualifications per opportunity; 1,000,000 opportunities seed in well under a minute.
Seeding only adds rows, so 100,000 and then 1,000,000 reuses the first 100,000; a
database that already holds more than a size is refused (``--reset``, or another one).

At each size, with the flags and notifications emptied first:
  cold      first refresh: every flag raised and notified;
  warm      the same refresh again at the same moment: nothing changed (twice);
  full      `refresh_flags --full` at the same moment: every deal decided, nothing changed;
  next day  a refresh 24 h later (what the first hourly run after midnight does): only
            what a day changes — flags newly due, severities crossing a threshold;
  1 deal    the targeted refresh of one open deal, as the services run it after a change;
  during    a cold run again while a "user" runs targeted refreshes (a page's write) of
            random open deals every 0.1 s: how long each waits — the run in batches of
            BATCH_DEALS (the code) and, for comparison, in one transaction.
Each is timed (wall clock) with its query count (CaptureQueriesContext). Prints a table
and writes JSON to bench/results/flags-<timestamp>.json.
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

from bench import seed as bench_seed

ROOT = bench_seed.ROOT
RESULTS = ROOT / "bench" / "results"
BENCH_DB = "salesops_bench_flags"
TARGETS_S = {("cold", 100_000): 1.5, ("cold", 1_000_000): 15.0, ("warm", 1_000_000): 2.0}
ENV = {"DEBUG": "0", "SECRET_KEY": "bench-only-secret-key-" + "x" * 40}


def database_url() -> str:
    return bench_seed.database_url_for(BENCH_DB, "BENCH_FLAGS_DATABASE_URL")


def seed(rows: int) -> float:
    """Add opportunities (and qualifications) until there are `rows`; returns seconds."""
    from django.db import connection, transaction
    from django.utils import timezone

    from pipeline.models import Opportunity, Pipeline
    from salesops.models import Role, User

    have = Opportunity.objects.count()
    if have >= rows:
        return 0.0
    pipeline = Pipeline.objects.get(name="New business")
    stages = list(pipeline.stages.order_by("order"))
    open_ids = [s.id for s in stages if not s.is_closed]
    open_cats = [s.forecast_category for s in stages if not s.is_closed]
    won = next(s.id for s in stages if s.is_won)
    lost = next(s.id for s in stages if s.is_lost)
    owners = list(
        User.objects.filter(role__in=[Role.REP, Role.MANAGER])
        .order_by("id")
        .values_list("id", flat=True)
    )
    now = timezone.now()
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT min(id), max(id) FROM pipeline_account")
        acc_min, acc_max = cur.fetchone()
        after = Opportunity.objects.order_by("-id").values_list("id", flat=True).first() or 0
        cur.execute("SELECT setseed(%s)", [0.42 + have / 1e9])  # the same data every run
        # Spread: 60 % open (evenly over the five open stages), 22 % won, 18 % lost; in
        # the stage 0-120 days (skewed to recent); close dates from 40 days ago to 160
        # ahead; last customer activity 0-40 days ago (10 % never); next steps from 12
        # days ago to 28 ahead (20 % none).
        cur.execute(
            """
            INSERT INTO pipeline_opportunity
                (name, account_id, owner_id, pipeline_id, stage_id, amount, currency,
                 close_date, forecast_category, forecast_category_override_reason,
                 next_step, next_step_date, status, loss_reason, source, external_id,
                 stage_entered_at, last_activity_at, closed_at, version, created_at,
                 updated_at)
            SELECT 'Bench deal ' || g,
                   %(acc_min)s + floor(r1 * (%(acc_max)s - %(acc_min)s + 1))::int,
                   (%(owners)s::bigint[])[1 + floor(r2 * %(n_owners)s)::int],
                   %(pipeline)s,
                   CASE WHEN st = 'open'
                        THEN (%(open_ids)s::bigint[])[1 + floor(r3 * %(n_open)s)::int]
                        WHEN st = 'won' THEN %(won)s ELSE %(lost)s END,
                   (5000 + floor(r4 * 790) * 500)::numeric(14, 2), 'EUR',
                   (%(now)s::timestamptz)::date + (floor(r5 * 200) - 40)::int,
                   CASE WHEN st = 'open'
                        THEN (%(open_cats)s::text[])[1 + floor(r3 * %(n_open)s)::int]
                        WHEN st = 'won' THEN 'closed' ELSE 'omitted' END,
                   '', CASE WHEN st = 'open' THEN 'Follow up' ELSE '' END,
                   CASE WHEN r6 < 0.2 THEN NULL
                        ELSE (%(now)s::timestamptz)::date + (floor(r6 * 40) - 12)::int END,
                   st, CASE WHEN st = 'lost' THEN 'Chose a competitor.' ELSE '' END, '', '',
                   entered,
                   CASE WHEN r7 < 0.1 THEN NULL
                        ELSE %(now)s::timestamptz - (r7 * r7) * interval '40 days' END,
                   CASE WHEN st = 'open' THEN NULL ELSE entered END,
                   1, entered - r8 * interval '60 days', entered
            FROM (
                SELECT g, random() AS r1, random() AS r2, random() AS r3, random() AS r4,
                       random() AS r5, random() AS r6, random() AS r7, random() AS r8,
                       CASE WHEN s < 0.6 THEN 'open' WHEN s < 0.82 THEN 'won' ELSE 'lost' END
                           AS st,
                       %(now)s::timestamptz - power(e, 1.5) * interval '120 days' AS entered
                FROM (SELECT g, random() AS s, random() AS e
                      FROM generate_series(%(first)s, %(last)s) g) x
            ) r
            """,
            {
                "acc_min": acc_min,
                "acc_max": acc_max,
                "owners": owners,
                "n_owners": len(owners),
                "pipeline": pipeline.pk,
                "open_ids": open_ids,
                "open_cats": open_cats,
                "n_open": len(open_ids),
                "won": won,
                "lost": lost,
                "now": now,
                "first": have + 1,
                "last": rows,
            },
        )
        # Statistics for the rows just made, before the qualifications' row trigger
        # (pipeline_qualification_flags_due) plans its update of the flag schedule: planned
        # on the empty table's statistics it scanned the whole schedule once per row (the
        # 100k seed ran for over 20 minutes).
        cur.execute("ANALYZE pipeline_opportunity, pipeline_flagschedule")
        # Qualifications: ~35 % of deals have one (assessed 0-50 days ago, 10 % of them
        # voided); a fifth of those also have an older one, so "the latest" is a real choice.
        cur.execute(
            """
            INSERT INTO pipeline_qualification
                (opportunity_id, framework_id, score_pct, assessed_by_id, assessed_at, note,
                 invalidated_at, invalidated_reason)
            SELECT o.id, p.framework_id, round((random() * 100)::numeric, 2), o.owner_id,
                   a.assessed_at, '',
                   CASE WHEN a.voided THEN a.assessed_at + interval '1 day' END,
                   CASE WHEN a.voided THEN 'The deal moved back a stage.' ELSE '' END
            FROM pipeline_opportunity o
            JOIN pipeline_pipeline p ON p.id = o.pipeline_id
            CROSS JOIN LATERAL (
                SELECT %(now)s::timestamptz - random() * interval '50 days' AS assessed_at,
                       random() < 0.1 AS voided
                UNION ALL
                SELECT %(now)s::timestamptz - interval '50 days'
                       - random() * interval '60 days', false
                WHERE random() < 0.2
            ) a
            WHERE o.id > %(after)s AND random() < 0.35
            """,
            {"now": now, "after": after},
        )
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    seconds = time.perf_counter() - t0
    print(f"seeded {rows - have:,} opportunities in {seconds:.1f}s → {rows:,} in all")
    return seconds


def empty_flags() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("TRUNCATE pipeline_opportunityflag, salesops_notification RESTART IDENTITY")
        # As right after migration 0008: every open deal due, no run recorded yet.
        cur.execute(
            "UPDATE pipeline_flagschedule s SET due_at = CASE WHEN o.status = 'open'"
            " THEN '-infinity'::timestamptz END, version = 0"
            " FROM pipeline_opportunity o WHERE o.id = s.opportunity_id"
        )
        cur.execute("TRUNCATE pipeline_flagrefreshstate")
        for table in ("pipeline_opportunityflag", "salesops_notification", "pipeline_flagschedule"):
            cur.execute(f"VACUUM ANALYZE {table}")


def measure(
    label: str, now: dt.datetime, opportunity_ids: list[int] | None = None, *, full: bool = False
) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from pipeline.flags import flags_refresh

    with CaptureQueriesContext(connection) as ctx:
        t0 = time.perf_counter()
        result = flags_refresh(now=now, opportunity_ids=opportunity_ids, full=full)
        seconds = time.perf_counter() - t0
    if os.environ.get("BENCH_FLAGS_SHOW_SQL"):
        for q in ctx.captured_queries:
            print(f"  [{label}] {q['time']} s  {q['sql'][:100]!r}")
    return {
        "scenario": label,
        "seconds": round(seconds, 3),
        "queries": len(ctx.captured_queries),
        "raised": result.raised,
        "cleared": result.cleared,
        "updated": result.updated,
        "notified": result.notified,
        "checked": result.checked,
        "full": result.full,
    }


def during(now: dt.datetime, open_ids: list[int]) -> list[dict]:
    """A user's change to a deal while a cold run goes: the main thread runs the targeted
    refresh a page's write runs (a random open deal, every 0.1 s) until the run ends, and
    times each. Twice: the run in batches (the code), and in one transaction (BATCH_DEALS
    above the number of deals: as before batches)."""
    import random
    import statistics
    import threading

    from django.db import connections

    from pipeline import flags

    rows = []
    batch_deals = flags.BATCH_DEALS
    for label, batch in (("during, batched", batch_deals), ("during, 1 txn", 10**9)):
        empty_flags()
        flags.BATCH_DEALS = batch
        done, outcome = threading.Event(), {}

        def cold_run(done: threading.Event = done, outcome: dict = outcome) -> None:
            t0 = time.perf_counter()
            outcome["result"] = flags.flags_refresh(now=now)
            outcome["seconds"] = time.perf_counter() - t0
            connections.close_all()
            done.set()

        runner = threading.Thread(target=cold_run)
        runner.start()
        rng, waits = random.Random(7), []
        time.sleep(0.2)
        while not done.is_set():
            t0 = time.perf_counter()
            flags.flags_refresh(now=now, opportunity_ids=[rng.choice(open_ids)])
            waits.append(time.perf_counter() - t0)
            time.sleep(0.1)
        runner.join()
        flags.BATCH_DEALS = batch_deals
        waits.sort()
        rows.append(
            {
                "scenario": label,
                "seconds": round(outcome["seconds"], 3),
                "checked": outcome["result"].checked,
                "user_writes": len(waits),
                "wait_median_s": round(statistics.median(waits), 3) if waits else None,
                "wait_p95_s": round(waits[int(0.95 * (len(waits) - 1))], 3) if waits else None,
                "wait_max_s": round(waits[-1], 3) if waits else None,
            }
        )
    return rows


def table_counts() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT (SELECT count(*) FROM pipeline_opportunity),"
            " (SELECT count(*) FROM pipeline_opportunity WHERE status = 'open'),"
            " (SELECT count(*) FROM pipeline_qualification),"
            " (SELECT count(*) FROM pipeline_opportunityflag WHERE cleared_at IS NULL)"
        )
        total, open_, quals, flags = cur.fetchone()
    return {"opportunities": total, "open": open_, "qualifications": quals, "open_flags": flags}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--reset", action="store_true", help="empty the bench database first")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    url = database_url()
    bench_seed.ensure_database(url)
    bench_seed.setup_django(url, **ENV)
    bench_seed.migrate()
    from django.db import connection
    from django.utils import timezone

    if args.reset:
        empty_flags()
        with connection.cursor() as cur:
            cur.execute("TRUNCATE pipeline_qualification, pipeline_qualificationscore CASCADE")
        bench_seed.reset()
    bench_seed.ensure_base()

    from pipeline.models import Opportunity

    runs = []
    for size in sizes:
        if (have := Opportunity.objects.count()) > size:
            sys.exit(
                f"{BENCH_DB} holds {have:,} opportunities, more than {size:,}: use --reset, or "
                "another database (BENCH_FLAGS_DATABASE_URL) for the smaller size"
            )
        seed_s = seed(size)
        empty_flags()
        now = timezone.now()
        rows = [
            measure("cold", now),
            measure("warm", now),
            measure("warm again", now),
            measure("full", now, full=True),
            measure("next day", now + dt.timedelta(days=1)),
        ]
        # One deal, as the services run it after a change (no lock; by primary key).
        one = (
            Opportunity.objects.filter(status="open")
            .order_by("id")
            .values_list("id", flat=True)[size // 2]
        )
        rows.append(measure("1 deal", now + dt.timedelta(days=1), opportunity_ids=[one]))
        open_ids = list(Opportunity.objects.filter(status="open").values_list("id", flat=True))
        waits = during(now, open_ids)
        counts = table_counts()
        for row in rows:
            row["target_s"] = TARGETS_S.get((row["scenario"], size))
        runs.append({"size": size, "seed_seconds": round(seed_s, 1), **counts, "runs": rows})
        print(
            f"\n{size:,} opportunities ({counts['open']:,} open, "
            f"{counts['qualifications']:,} qualifications, {counts['open_flags']:,} open flags)"
        )
        print(
            f"{'scenario':<11} {'seconds':>8} {'target':>7} {'queries':>7} {'checked':>9} "
            f"{'raised':>9} {'cleared':>8} {'updated':>9} {'notified':>9}"
        )
        for r in rows:
            target = f"{r['target_s']:.1f}" if r["target_s"] else "-"
            print(
                f"{r['scenario']:<11} {r['seconds']:>8.3f} {target:>7} {r['queries']:>7} "
                f"{r['checked']:>9,} {r['raised']:>9,} {r['cleared']:>8,} {r['updated']:>9,} "
                f"{r['notified']:>9,}"
            )
        print(
            f"\n{'a page write during the cold run':<20} {'run s':>8} {'writes':>7} "
            f"{'median s':>9} {'p95 s':>7} {'max s':>7}"
        )
        for w in waits:
            print(
                f"{w['scenario']:<32} {w['seconds']:>8.3f} {w['user_writes']:>7} "
                f"{w['wait_median_s']:>9} {w['wait_p95_s']:>7} {w['wait_max_s']:>7}"
            )
        runs[-1]["during"] = waits
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        server = cur.fetchone()[0]
        cur.execute("SHOW work_mem")
        work_mem = cur.fetchone()[0]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"flags-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(
        json.dumps(
            {
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "postgres": server,
                    "work_mem": work_mem,
                },
                "sizes": runs,
            },
            indent=2,
        )
    )
    print(f"\nwrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
