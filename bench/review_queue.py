"""Benchmark the coaching review queue (`coaching.selectors.review_queue_for`).

    .venv/bin/python bench/review_queue.py [--rows 100000] [--runs 7] [--warmup 2] [--reset]

Database: ``salesops_bench_queue`` on the server of ``DATABASE_URL`` (or
``BENCH_QUEUE_DATABASE_URL``), created and migrated when missing; never the dev or test
database. Seeding reuses ``bench/flags.py`` (the demo people and "New business"
pipeline, opportunities — 60 % open — and qualifications for ~35 % of them), then adds,
set-based and once: the attention flags (``flags_refresh``, as the hourly task raises
them), scores for the latest qualifications (each element of the framework scored 0-3,
~15 % left unscored) and reviews of ~40 % of the open deals (completed 0-120 days ago,
one in ten still open).

Measured, for the sales leader (every team's open deals) and for the manager of the
team with the most open deals (that team only): the selector call (the query and the
rows it returns, no template), median / min of `--runs` warm runs after `--warmup`, and
its query count. "before" is a copy of the selector as it was before the database ranked
the queue (`review_queue_before` below: every open deal loaded and scored in Python);
"after" is the code in the tree. The two must return the same rows, scores and `more`:
the script checks it. Prints a table and writes bench/results/review-queue-<ts>.json.
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import flags as bench_flags
from bench import seed as bench_seed

ROOT = bench_seed.ROOT
RESULTS = ROOT / "bench" / "results"
BENCH_DB = "salesops_bench_queue"
ENV = {"DEBUG": "0", "SECRET_KEY": "bench-only-secret-key-" + "x" * 40}


def database_url() -> str:
    return bench_seed.database_url_for(BENCH_DB, "BENCH_QUEUE_DATABASE_URL")


def seed_queue_inputs() -> None:
    """Flags, qualification scores and reviews, once (skipped when reviews exist)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from coaching.models import OpportunityReview
    from pipeline.flags import flags_refresh
    from salesops.models import Role, User

    if OpportunityReview.objects.exists():
        return
    t0 = time.perf_counter()
    now = timezone.now()
    flags_refresh(now=now, full=True)
    reviewer = User.objects.filter(role=Role.LEADER).order_by("id").first()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT setseed(0.17)")
        cur.execute(
            """
            INSERT INTO pipeline_qualificationscore
                (qualification_id, element_id, score, evidence, source)
            SELECT q.id, e.id, s.score,
                   CASE WHEN s.score >= 2 THEN 'Confirmed on a call' ELSE '' END,
                   CASE WHEN s.score >= 2 THEN 'call' ELSE '' END
            FROM pipeline_opportunity o
            JOIN pipeline_qualification q ON q.id = o.latest_qualification_id
            JOIN pipeline_qualificationelement e ON e.framework_id = q.framework_id
            CROSS JOIN LATERAL (SELECT floor(random() * 4)::int AS score,
                                       random() AS keep WHERE e.id = e.id) s
            WHERE s.keep >= 0.15
            """
        )
        cur.execute(
            """
            INSERT INTO coaching_opportunityreview
                (opportunity_id, rep_id, manager_id, status, started_at, completed_at)
            SELECT o.id, o.owner_id, %(reviewer)s,
                   CASE WHEN r.open THEN 'open' ELSE 'completed' END,
                   r.at, CASE WHEN r.open THEN NULL ELSE r.at + interval '1 hour' END
            FROM pipeline_opportunity o
            CROSS JOIN LATERAL (SELECT random() < 0.1 AS open,
                                       %(now)s::timestamptz - random() * interval '120 days'
                                           AS at,
                                       random() AS pick WHERE o.id = o.id) r
            WHERE o.status = 'open' AND o.owner_id <> %(reviewer)s AND r.pick < 0.4
            """,
            {"reviewer": reviewer.pk, "now": now},
        )
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    print(f"seeded flags, scores and reviews in {time.perf_counter() - t0:.1f}s")


def review_queue_before(user: Any, team_id: Any = None) -> Any:
    """coaching.selectors.review_queue_for as it was before this change (a copy): every
    open deal of the scope read and scored in Python, sorted, the top 100 kept."""
    from django.db.models import Avg, F, OuterRef, Subquery, Window
    from django.db.models.functions import Coalesce
    from django.utils import timezone

    from coaching import rules
    from coaching.models import OpportunityReview, ReviewStatus
    from coaching.selectors import (
        REVIEW_QUEUE_SHOWN,
        ReviewQueue,
        _CountOf,
        _queue_row,
        matrix_teams_for,
        picked_team,
    )
    from pipeline.models import (
        Opportunity,
        OpportunityFlag,
        OpportunityStatus,
        QualificationElement,
        QualificationScore,
    )
    from salesops import access

    if not (user.is_authenticated and user.is_active and (user.is_manager or user.sees_everything)):
        return ReviewQueue(rows=[], teams=[], team=None, more=0)
    managed = access.managed_team_ids(user) if not user.sees_everything else None
    teams = list(matrix_teams_for(user, managed))
    qs = Opportunity.objects.filter(status=OpportunityStatus.OPEN).exclude(owner=user)
    if managed is not None:
        qs = qs.filter(owner__team_id__in=managed)
    team = None
    if team_id not in (None, ""):
        team, ids = picked_team(teams, team_id)
        qs = qs.filter(owner__team_id__in=ids)
    flags = OpportunityFlag.objects.filter(opportunity=OuterRef("pk"), cleared_at__isnull=True)
    scores = QualificationScore.objects.filter(qualification=OuterRef("latest_qualification"))
    reviews = OpportunityReview.objects.filter(opportunity=OuterRef("pk"))
    qs = (
        qs.select_related("owner", "account", "stage", "latest_qualification")
        .annotate(
            critical_flags=_CountOf(flags.filter(severity="critical").values("pk")),
            warning_flags=_CountOf(flags.exclude(severity="critical").values("pk")),
            weak_scores=_CountOf(scores.filter(score__lt=rules.WEAK_BELOW).values("pk")),
            scored=_CountOf(scores.values("pk")),
            framework_elements=_CountOf(
                QualificationElement.objects.filter(
                    framework_id=OuterRef("pipeline__framework_id")
                ).values("pk")
            ),
            last_review_at=Subquery(
                reviews.annotate(ended=Coalesce("completed_at", "started_at"))
                .order_by("-ended")
                .values("ended")[:1]
            ),
            open_review_id=Subquery(reviews.filter(status=ReviewStatus.OPEN).values("pk")[:1]),
            team_average=Window(Avg("amount"), partition_by=[F("owner__team_id")]),
        )
        .order_by("id")
    )
    now = timezone.now()
    # Every open deal scored in Python, one by one, by the selector's own row builder.
    rows = [_queue_row(opp, now=now) for opp in qs]
    rows.sort(key=lambda r: (-r.risk.score, -r.opportunity.amount, r.opportunity.pk))
    return ReviewQueue(
        rows=rows[:REVIEW_QUEUE_SHOWN],
        teams=teams,
        team=team,
        more=max(0, len(rows) - REVIEW_QUEUE_SHOWN),
    )


def _signature(queue: Any) -> tuple:
    return (
        [
            (
                r.opportunity.pk,
                r.risk.score,
                r.risk.reasons,
                r.qualification_state,
                r.open_review_id,
            )
            for r in queue.rows
        ],
        queue.more,
    )


def measure(fn: Any, user: Any, *, runs: int, warmup: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        fn(user)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(user)
        times.append((time.perf_counter() - t0) * 1000)
    with CaptureQueriesContext(connection) as ctx:
        queue = fn(user)
    return {
        "median_ms": round(statistics.median(times), 1),
        "min_ms": round(min(times), 1),
        "runs_ms": [round(t, 1) for t in times],
        "queries": len(ctx.captured_queries),
        "rows": len(queue.rows),
        "more": queue.more,
        "signature": _signature(queue),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--reset", action="store_true", help="empty the bench database first")
    args = parser.parse_args(argv)
    url = database_url()
    bench_seed.ensure_database(url)
    bench_seed.setup_django(url, **ENV)
    bench_seed.migrate()
    from django.db import connection
    from django.db.models import Count, Q

    from coaching.selectors import review_queue_for
    from pipeline.models import Opportunity
    from salesops.models import Role, Team, User

    if args.reset:
        with connection.cursor() as cur:
            cur.execute(
                "TRUNCATE coaching_opportunityreview, pipeline_opportunityflag, "
                "salesops_notification, pipeline_qualification, pipeline_qualificationscore "
                "CASCADE"
            )
        bench_seed.reset()
    bench_seed.ensure_base()
    if (have := Opportunity.objects.count()) > args.rows:
        sys.exit(f"{BENCH_DB} holds {have:,} opportunities, more than {args.rows:,}: --reset")
    bench_flags.seed(args.rows)
    seed_queue_inputs()

    leader = User.objects.filter(role=Role.LEADER).order_by("id").first()
    team = (
        Team.objects.filter(manager__isnull=False)
        .annotate(
            n=Count("members__opportunities", filter=Q(members__opportunities__status="open"))
        )
        .order_by("-n", "id")
        .first()
    )
    manager = team.manager
    results = []
    for who, user in (("leader", leader), (f"manager ({team.name})", manager)):
        before = measure(review_queue_before, user, runs=args.runs, warmup=args.warmup)
        after = measure(review_queue_for, user, runs=args.runs, warmup=args.warmup)
        same = before.pop("signature") == after.pop("signature")
        results.append({"who": who, "before": before, "after": after, "same_result": same})
    open_deals = Opportunity.objects.filter(status="open").count()
    print(f"\n{Opportunity.objects.count():,} opportunities, {open_deals:,} open")
    print(
        f"{'who':<28} {'before ms':>10} {'(min)':>7} {'after ms':>9} {'(min)':>7} "
        f"{'queries b/a':>11} {'shown+more':>11} {'same':>5}"
    )
    for r in results:
        b, a = r["before"], r["after"]
        print(
            f"{r['who']:<28} {b['median_ms']:>10.1f} {b['min_ms']:>7.1f} {a['median_ms']:>9.1f} "
            f"{a['min_ms']:>7.1f} {b['queries']:>5}/{a['queries']:<5} "
            f"{a['rows'] + a['more']:>11,} {'yes' if r['same_result'] else 'NO':>5}"
        )
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        server = cur.fetchone()[0]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"review-queue-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(
        json.dumps(
            {
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "postgres": server,
                    "load": os.getloadavg(),
                },
                "opportunities": Opportunity.objects.count(),
                "open": open_deals,
                "results": results,
            },
            indent=2,
        )
    )
    print(f"\nwrote {out.relative_to(ROOT)}")
    if not all(r["same_result"] for r in results):
        sys.exit("before and after differ")


if __name__ == "__main__":
    main()
