"""Benchmark the forecast dashboard's data at 1,000,000 opportunities.

    .venv/bin/python bench/forecast_dashboard.py [--rows 1000000] [--runs 5]

The issue's target: "1,000,000 opportunities, 500 reps in 50 teams, 2 years of history and
weekly snapshots — the dashboard's data for a quarter and the whole company ≤ 1.5 s cold,
≤ 200 ms warm (cache invalidated on change)".

Database: ``salesops_bench_forecast`` on the server of ``DATABASE_URL`` (or
``BENCH_FORECAST_DATABASE_URL``), created and migrated when missing; never the dev or test
database. The world is built once (later runs reuse it; ``--rebuild`` starts again):

- the demo people and pipeline of seed_demo (bench/seed.py), plus 50 teams of 10 reps with
  a manager each (500 reps) and one leader;
- 1,000,000 opportunities created evenly over the last 730 days, each open 14–180 days:
  those whose life ended are closed (28 % won), the others open in a stage that follows
  the share of their life gone by; amounts 5,000–400,000 EUR;
- the stage history a real deal leaves (one OpportunityChange per stage entered), which
  the forecast from history reads;
- weekly pipeline snapshots for the last 104 Mondays of every deal open that Monday;
- quotas per rep for the last 8 quarters, the current one and the next; rep calls in week
  1 and week 6 of each past quarter (the second superseding the first) and team calls by
  the managers — so accuracy has two years to read.

Bulk SQL (INSERT … SELECT generate_series) with ``session_replication_role = replica`` so
foreign-key and history triggers do not run for rows that are consistent by construction.

Measured, for the leader (the whole company), the current quarter, ``--runs`` times each:
  cold    right after a committed change to one deal (the data version moves on, so the
          cached dashboard is stale and is computed again; the database's buffers are warm
          from the previous runs, the win rates from history cached for the day);
  warm    the same call again, served from the cache.
Also: the forecast from history on the first view of a day (its win rates computed).
Each component selector is also timed alone (uncached) to show where the time goes.
Prints a table and writes JSON to bench/results/forecast-dashboard-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import seed as bench_seed

ROOT = bench_seed.ROOT
RESULTS = ROOT / "bench" / "results"
BENCH_DB = "salesops_bench_forecast"
TEAMS = 50
REPS_PER_TEAM = 10
DAYS = 730
WEEKS = 104
COLD_TARGET_S = 1.5
WARM_TARGET_S = 0.2
ENV = {"DEBUG": "0", "SECRET_KEY": "bench-only-secret-key-" + "x" * 40}


def database_url() -> str:
    return bench_seed.database_url_for(BENCH_DB, "BENCH_FORECAST_DATABASE_URL")


def _step(label: str, cur, sql: str, params: dict | None = None) -> None:
    t0 = time.perf_counter()
    cur.execute(sql, params or {})
    print(f"  {label}: {cur.rowcount:,} rows in {time.perf_counter() - t0:.1f} s", flush=True)


def build_people() -> tuple[list[int], int]:
    """50 teams of 10 reps, a manager each, and a leader; returns (rep ids, leader id)."""
    from django.contrib.auth.hashers import make_password

    from salesops.models import Role, Team, User

    password = make_password("bench")
    leader, _ = User.objects.get_or_create(
        username="fc-leader", defaults={"role": Role.LEADER, "password": password}
    )
    if not Team.objects.filter(name="FC team 01").exists():
        managers = User.objects.bulk_create(
            User(username=f"fc-manager-{t:02d}", role=Role.MANAGER, password=password)
            for t in range(1, TEAMS + 1)
        )
        teams = Team.objects.bulk_create(
            Team(name=f"FC team {t:02d}", manager=m) for t, m in enumerate(managers, start=1)
        )
        User.objects.bulk_create(
            User(
                username=f"fc-rep-{t:02d}-{r:02d}",
                first_name=f"Rep {r}",
                last_name=f"Team {t}",
                role=Role.REP,
                team=team,
                password=password,
            )
            for t, team in enumerate(teams, start=1)
            for r in range(1, REPS_PER_TEAM + 1)
        )
        for manager, team in zip(managers, teams, strict=True):
            manager.team = team
        User.objects.bulk_update(managers, ["team"])
    reps = list(
        User.objects.filter(username__startswith="fc-rep-")
        .order_by("id")
        .values_list("id", flat=True)
    )
    return reps, leader.pk


def build_deals(rows: int, reps: list[int], now: dt.datetime) -> None:
    """The opportunities, their stage history and the weekly snapshots (see the module)."""
    from django.db import connection, transaction

    from pipeline.models import Pipeline

    pipeline = Pipeline.objects.get(name="New business")
    stages = list(pipeline.stages.order_by("order"))
    open_stages = [s for s in stages if not s.is_closed]
    won = next(s for s in stages if s.is_won)
    lost = next(s for s in stages if s.is_lost)
    params = {
        "rows": rows,
        "reps": reps,
        "n_reps": len(reps),
        "pipeline": pipeline.pk,
        "open_ids": [s.pk for s in open_stages],
        "open_cats": [s.forecast_category for s in open_stages],
        "n_open": len(open_stages),
        "won": won.pk,
        "lost": lost.pk,
        "now": now,
        "days": DAYS,
        "weeks": WEEKS,
    }
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute("SELECT min(id), max(id) FROM pipeline_account")
        params["acc_min"], params["acc_max"] = cur.fetchone()
        cur.execute("SELECT setseed(0.17)")
        # A deal's life: born `born`, planned to close after `life` days; `progress` is the
        # share of its life gone by now (≥ 1: decided). Its stage index follows progress.
        _step(
            "opportunities",
            cur,
            """
            CREATE TEMP TABLE fc_deal ON COMMIT DROP AS
            SELECT g AS n, born, life, won_it,
                   (%(reps)s::bigint[])[1 + floor(r_owner * %(n_reps)s)::int] AS owner_id,
                   (5000 + floor(r_amount * 790) * 500)::numeric(14, 2) AS amount,
                   r_push
            FROM (
                SELECT g, %(now)s::timestamptz - random() * %(days)s * interval '1 day' AS born,
                       14 + random() * 166 AS life, random() < 0.28 AS won_it,
                       random() AS r_owner, random() AS r_amount, random() AS r_push
                FROM generate_series(1, %(rows)s) g
            ) x
            """,
            params,
        )
        _step(
            "  insert",
            cur,
            """
            INSERT INTO pipeline_opportunity
                (name, account_id, owner_id, pipeline_id, stage_id, amount, currency,
                 close_date, forecast_category, forecast_category_override_reason,
                 next_step, next_step_date, status, loss_reason, source, external_id,
                 stage_entered_at, last_activity_at, closed_at, version, created_at,
                 updated_at)
            SELECT 'FC deal ' || d.n,
                   %(acc_min)s + (d.n %% (%(acc_max)s - %(acc_min)s + 1)),
                   d.owner_id, %(pipeline)s,
                   CASE WHEN NOT decided THEN (%(open_ids)s::bigint[])[1 + stage_ix]
                        WHEN d.won_it THEN %(won)s ELSE %(lost)s END,
                   d.amount, 'EUR',
                   (d.born + d.life * interval '1 day'
                    + CASE WHEN d.r_push < 0.2 THEN interval '30 days' ELSE interval '0' END
                   )::date,
                   CASE WHEN NOT decided THEN (%(open_cats)s::text[])[1 + stage_ix]
                        WHEN d.won_it THEN 'closed' ELSE 'omitted' END,
                   '', CASE WHEN decided THEN '' ELSE 'Follow up' END, NULL,
                   CASE WHEN NOT decided THEN 'open' WHEN d.won_it THEN 'won' ELSE 'lost' END,
                   CASE WHEN decided AND NOT d.won_it THEN 'Chose a competitor.' ELSE '' END,
                   '', '',
                   CASE WHEN decided THEN d.born + d.life * interval '1 day'
                        ELSE d.born + (stage_ix::float / %(n_open)s) * d.life * interval '1 day'
                   END,
                   NULL,
                   CASE WHEN decided THEN d.born + d.life * interval '1 day' END,
                   1, d.born, %(now)s
            FROM (
                SELECT d.*, progress >= 1 AS decided,
                       LEAST(floor(progress * %(n_open)s)::int, %(n_open)s - 1) AS stage_ix
                FROM (SELECT d.*, extract(epoch FROM %(now)s - d.born) / 86400 / d.life
                                  AS progress
                      FROM fc_deal d) d
            ) d
            ORDER BY d.n
            """,
            params,
        )
        cur.execute("SELECT min(id) FROM pipeline_opportunity WHERE name = 'FC deal 1'")
        params["first_id"] = cur.fetchone()[0]
        # One stage entry per stage reached: open stage i entered at born + i/n of the life;
        # the closing stage at the end of a decided life.
        _step(
            "stage history",
            cur,
            """
            INSERT INTO pipeline_opportunitychange
                (opportunity_id, field, old_value, new_value, old_display, new_display,
                 changed_by_id, changed_at, override_reason, note)
            SELECT %(first_id)s + d.n - 1, 'stage', '', s.stage_id::text, '', '', NULL,
                   s.at, '', ''
            FROM fc_deal d
            CROSS JOIN LATERAL (
                SELECT (%(open_ids)s::bigint[])[1 + i] AS stage_id,
                       d.born + (i::float / %(n_open)s) * d.life * interval '1 day' AS at
                FROM generate_series(0, %(n_open)s - 1) i
                WHERE d.born + (i::float / %(n_open)s) * d.life * interval '1 day' <= %(now)s
                UNION ALL
                SELECT CASE WHEN d.won_it THEN %(won)s ELSE %(lost)s END,
                       d.born + d.life * interval '1 day'
                WHERE d.born + d.life * interval '1 day' <= %(now)s
            ) s
            """,
            params,
        )
        # Every deal open on each of the last 104 Mondays (00:00 local), in the stage of
        # that moment; a fifth were pushed 30 days at some point (after half their life).
        _step(
            "weekly snapshots",
            cur,
            """
            INSERT INTO forecasting_pipelinesnapshot
                (week, opportunity_id, owner_id, team_id, stage_id, forecast_category, amount,
                 currency, close_date, status)
            SELECT w.week, %(first_id)s + d.n - 1, d.owner_id, u.team_id,
                   (%(open_ids)s::bigint[])[1 + w.ix], (%(open_cats)s::text[])[1 + w.ix],
                   d.amount, 'EUR',
                   (d.born + d.life * interval '1 day'
                    + CASE WHEN d.r_push < 0.2 AND w.progress >= 0.5
                           THEN interval '30 days' ELSE interval '0' END)::date,
                   'open'
            FROM fc_deal d
            JOIN salesops_user u ON u.id = d.owner_id
            CROSS JOIN LATERAL (
                SELECT m::date AS week, p AS progress,
                       LEAST(floor(p * %(n_open)s)::int, %(n_open)s - 1) AS ix
                FROM generate_series(
                         date_trunc('week', %(now)s::timestamptz)
                         - (%(weeks)s - 1) * interval '1 week',
                         date_trunc('week', %(now)s::timestamptz), interval '1 week') m,
                     LATERAL (SELECT extract(epoch FROM m - d.born) / 86400 / d.life AS p) pp
                WHERE m >= d.born AND p < 1
            ) w
            ORDER BY w.week, d.n  -- as the weekly job lays them down: a week's rows together
            """,
            params,
        )
        # Replica mode skipped the triggers that keep the snapshot totals: sum them here.
        _step(
            "snapshot totals",
            cur,
            """
            INSERT INTO forecasting_pipelinesnapshottotal
                (week, owner_id, team_id, close_month, forecast_category, currency, deals,
                 amount)
            SELECT week, owner_id, team_id, date_trunc('month', close_date)::date,
                   forecast_category, currency, count(*), sum(amount)
            FROM forecasting_pipelinesnapshot
            GROUP BY 1, 2, 3, 4, 5, 6
            """,
        )


def build_calls(reps: list[int], now: dt.datetime) -> None:
    """Quotas (8 past quarters, the current and the next) and calls for the past quarters."""
    from django.db import connection, transaction

    from forecasting import rules
    from forecasting.services import fiscal_calendar, local_today

    calendar = fiscal_calendar()
    this = calendar.period_of(local_today(now), rules.PeriodKind.QUARTER)
    quarters = [this]
    for _ in range(8):
        quarters.insert(
            0,
            calendar.period_of(quarters[0].start - dt.timedelta(days=1), rules.PeriodKind.QUARTER),
        )
    quarters.append(calendar.period_of(this.end, rules.PeriodKind.QUARTER))
    past = [q for q in quarters if q.end <= this.start]
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute("SELECT setseed(0.29)")
        _step(
            "quotas",
            cur,
            """
            INSERT INTO forecasting_quota (period_kind, period_start, rep_id, team_id, amount,
                                           currency, updated_at)
            SELECT 'quarter', q, r, NULL, (250000 + floor(random() * 20) * 25000)::numeric, 'EUR',
                   %(now)s
            FROM unnest(%(reps)s::bigint[]) r, unnest(%(starts)s::date[]) q
            """,
            {"reps": reps, "starts": [q.start for q in quarters], "now": now},
        )
        # Week 1 and week 6 calls of each past quarter, the second superseding the first;
        # commit = the rep's closed won of the quarter × a per-rep bias × noise.
        for week in (1, 6):
            _step(
                f"rep calls, week {week}",
                cur,
                """
                INSERT INTO forecasting_forecastsubmission
                    (period_kind, period_start, submitter_id, level, team_id, commit, best_case,
                     currency, notes, adjustment_note, figures, reps_calls, submitted_at,
                     supersedes_id)
                SELECT 'quarter', q.start, r.id, 'rep', NULL, c.commit, c.commit * 1.3, 'EUR',
                       '', '', '{}'::jsonb, '[]'::jsonb,
                       q.start::timestamptz + (%(week)s - 1) * interval '1 week'
                       + interval '2 days',
                       prev.id
                FROM unnest(%(reps)s::bigint[]) r(id)
                CROSS JOIN unnest(%(q_start)s::date[], %(q_end)s::date[]) q(start, finish)
                CROSS JOIN LATERAL (
                    SELECT round((COALESCE(sum(o.amount), 0) * (0.8 + (r.id %% 5) * 0.1)
                                  * (0.9 + random() * 0.2))::numeric, 2) AS commit
                    FROM pipeline_opportunity o
                    WHERE o.owner_id = r.id AND o.status = 'won'
                      AND o.closed_at >= q.start AND o.closed_at < q.finish
                ) c
                LEFT JOIN forecasting_forecastsubmission prev
                  ON %(week)s > 1 AND prev.submitter_id = r.id AND prev.level = 'rep'
                 AND prev.period_start = q.start
                """,
                {
                    "reps": reps,
                    "q_start": [q.start for q in past],
                    "q_end": [q.end for q in past],
                    "week": week,
                },
            )
        _step(
            "team calls",
            cur,
            """
            INSERT INTO forecasting_forecastsubmission
                (period_kind, period_start, submitter_id, level, team_id, commit, best_case,
                 currency, notes, adjustment_note, figures, reps_calls, submitted_at,
                 supersedes_id)
            SELECT 'quarter', s.period_start, t.manager_id, 'team', t.id, sum(s.commit),
                   sum(s.best_case), 'EUR', '', '', '{}'::jsonb, '[]'::jsonb,
                   max(s.submitted_at) + interval '1 hour', NULL
            FROM forecasting_forecastsubmission s
            JOIN salesops_user u ON u.id = s.submitter_id
            JOIN salesops_team t ON t.id = u.team_id
            WHERE s.level = 'rep' AND s.supersedes_id IS NOT NULL
            GROUP BY s.period_start, t.id, t.manager_id
            """,
        )


def build(rows: int, rebuild: bool) -> None:
    from django.db import connection
    from django.utils import timezone

    from pipeline.models import Opportunity

    if rebuild:
        with connection.cursor() as cur:
            cur.execute(
                "TRUNCATE forecasting_pipelinesnapshot, forecasting_pipelinesnapshottotal, "
                "forecasting_quota, "
                "forecasting_forecastsubmission, pipeline_opportunitychange, "
                "pipeline_opportunity RESTART IDENTITY CASCADE"
            )
    have = Opportunity.objects.count()
    if have >= rows:
        print(f"reusing {have:,} opportunities")
        return
    if have:
        sys.exit(f"{BENCH_DB} holds {have:,} opportunities: run with --rebuild")
    t0 = time.perf_counter()
    reps, _ = build_people()
    now = timezone.now()
    build_deals(rows, reps, now)
    build_calls(reps, now)
    with connection.cursor() as cur:
        t1 = time.perf_counter()
        cur.execute("VACUUM ANALYZE")
        print(f"  vacuum analyze: {time.perf_counter() - t1:.1f} s")
    print(f"built the world in {time.perf_counter() - t0:.0f} s")


def timed(fn) -> tuple[float, int, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        t0 = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - t0
    return seconds, len(ctx.captured_queries), result


def change_one_deal() -> None:
    """A committed change to one deal's amount, as a user's edit would be: the deferred
    trigger bumps the forecast data version, so every cached dashboard is stale."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "UPDATE pipeline_opportunity SET amount = amount + 1"
            " WHERE id = (SELECT min(id) FROM pipeline_opportunity WHERE status = 'open')"
        )


def components(user) -> dict:
    """Each selector the dashboard composes, alone and uncached (what a cold run pays)."""
    from forecasting import selectors

    parts = {
        "summary": lambda: selectors.forecast_summary(user),
        "trend": lambda: selectors.snapshot_trend(user, None),
        "week_over_week": lambda: selectors.week_over_week(user, None),
        "history": lambda: selectors.history_forecast(user),
    }
    try:
        from forecasting import accuracy

        parts["accuracy"] = lambda: accuracy.forecast_accuracy(user)
    except ImportError:
        pass
    return parts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--only-build", action="store_true")
    args = parser.parse_args(argv)
    url = database_url()
    bench_seed.ensure_database(url)
    bench_seed.setup_django(url, **ENV)
    bench_seed.migrate()
    bench_seed.ensure_base()
    build(args.rows, args.rebuild)
    if args.only_build:
        return

    from django.core.cache import cache
    from django.db import connection

    from forecasting import selectors
    from salesops.models import User

    leader = User.objects.get(username="fc-leader")
    results: dict = {"components": {}, "dashboard": {}}
    # The win rates from history are a daily figure (cached for the day): the first view of
    # a day pays for them once, whatever changes after.
    cache.clear()
    seconds, queries, _ = timed(lambda: selectors.history_forecast(leader))
    results["history_first_of_day"] = {"seconds": round(seconds, 3), "queries": queries}
    print(f"  history, first view of the day: {seconds:.3f} s, {queries} queries", flush=True)
    for name, fn in components(leader).items():
        runs = [timed(fn)[:2] for _ in range(args.runs)]
        secs = [r[0] for r in runs]
        results["components"][name] = {
            "median_s": round(statistics.median(secs), 3),
            "min_s": round(min(secs), 3),
            "max_s": round(max(secs), 3),
            "queries": runs[-1][1],
        }
        print(
            f"  {name:<15} median {statistics.median(secs):6.3f} s "
            f"(min {min(secs):.3f}, max {max(secs):.3f}), {runs[-1][1]} queries",
            flush=True,
        )
    try:
        from forecasting import dashboard
    except ImportError:
        dashboard = None
    if dashboard is not None:
        cold, warm = [], []
        for _ in range(args.runs):
            change_one_deal()  # a committed change: the data version moves on
            cold.append(timed(lambda: dashboard.dashboard_data(leader))[:2])
            warm.append(timed(lambda: dashboard.dashboard_data(leader))[:2])
        for label, runs, target in (("cold", cold, COLD_TARGET_S), ("warm", warm, WARM_TARGET_S)):
            secs = [r[0] for r in runs]
            results["dashboard"][label] = {
                "median_s": round(statistics.median(secs), 3),
                "min_s": round(min(secs), 3),
                "max_s": round(max(secs), 3),
                "queries": runs[-1][1],
                "target_s": target,
            }
            print(
                f"dashboard {label:<5} median {statistics.median(secs):6.3f} s "
                f"(min {min(secs):.3f}, max {max(secs):.3f}), {runs[-1][1]} queries, "
                f"target {target} s"
            )
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        server = cur.fetchone()[0]
        cur.execute(
            "SELECT (SELECT count(*) FROM pipeline_opportunity),"
            " (SELECT count(*) FROM pipeline_opportunity WHERE status = 'open'),"
            " (SELECT count(*) FROM forecasting_pipelinesnapshot),"
            " (SELECT count(*) FROM pipeline_opportunitychange),"
            " (SELECT count(*) FROM forecasting_forecastsubmission)"
        )
        opps, open_opps, snaps, changes, calls = cur.fetchone()
    print(
        f"\n{opps:,} opportunities ({open_opps:,} open), {snaps:,} snapshot rows, "
        f"{changes:,} stage changes, {calls:,} calls"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"forecast-dashboard-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(
        json.dumps(
            {
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "postgres": server,
                    "loadavg": os.getloadavg(),
                },
                "world": {
                    "opportunities": opps,
                    "open": open_opps,
                    "snapshot_rows": snaps,
                    "stage_changes": changes,
                    "calls": calls,
                },
                **results,
            },
            indent=2,
        )
    )
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
