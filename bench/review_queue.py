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
its query count. "before" is a copy of the selector as it was before the ranking counted
its inputs set-based (`review_queue_before` below: the database ranked, but counted each
deal's flags, scores and reviews by subqueries run once per deal); "after" is the code
in the tree. The two must return the same rows, scores and `more`:
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
    """coaching.selectors.review_queue_for as it was before this change (a copy): the
    database ranked the deals, but counted each deal's flags, scores, framework elements
    and reviews by subqueries run once per deal."""
    from django.db import connection, transaction
    from django.utils import timezone

    from coaching.selectors import (
        REVIEW_QUEUE_SHOWN,
        ReviewQueue,
        matrix_teams_for,
        picked_team,
        queue_row,
    )
    from pipeline.models import Opportunity, OpportunityStatus
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
    now = timezone.now()
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        ranked = list(_ranked_before(qs, now=now)[:REVIEW_QUEUE_SHOWN])
    rows = [queue_row(opp, now=now) for opp in ranked]
    total = ranked[0].ranked_total if ranked else 0
    return ReviewQueue(rows=rows, teams=teams, team=team, more=max(0, total - len(rows)))


def _expressions() -> tuple[Any, Any]:
    """The two expression classes the previous selector used (copies)."""
    import re

    from django.db.models import Expression, IntegerField, Subquery, Value

    class _CountOf(Subquery):
        template = "(SELECT count(*) FROM (%(subquery)s) AS counted)"
        output_field = IntegerField()

    hole = re.compile(r"%\((\w+)\)s")

    class _SqlTemplate(Expression):
        def __init__(self, template: str, *, output_field: Any, **parts: Any) -> None:
            super().__init__(output_field=output_field)
            self.template = template
            self.parts = {
                k: v if hasattr(v, "resolve_expression") else Value(v) for k, v in parts.items()
            }

        def get_source_expressions(self) -> list[Any]:
            return list(self.parts.values())

        def set_source_expressions(self, exprs: list[Any]) -> None:
            self.parts = dict(zip(self.parts, exprs, strict=True))

        def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
            compiled = {name: compiler.compile(expr) for name, expr in self.parts.items()}
            params: list[Any] = []

            def fill(match: Any) -> str:
                sql, part_params = compiled[match.group(1)]
                params.extend(part_params)
                return f"({sql})"

            return hole.sub(fill, self.template), params

    return _CountOf, _SqlTemplate


def _ranked_before(qs: Any, *, now: dt.datetime) -> Any:
    """Open deals `qs` annotated with what the queue shows and with `risk_score`
    (review_risk's score computed by the database, see RISK_SCORE_SQL) and `ranked_total`
    (how many deals the ranking has), riskiest first. One query, however many deals: the
    caller slices it. The inputs shown are read again outside the score, but PostgreSQL
    evaluates those only for the rows past the LIMIT."""
    from django.conf import settings
    from django.db.models import (
        Avg,
        Count,
        DateField,
        DateTimeField,
        F,
        IntegerField,
        OuterRef,
        Subquery,
        Value,
        Window,
    )
    from django.db.models.functions import Coalesce, TruncDate

    from coaching import rules
    from coaching.models import OpportunityReview, ReviewStatus
    from coaching.selectors.review_queue import REVIEW_AGE_SQL, RISK_SCORE_SQL
    from pipeline.models import OpportunityFlag, QualificationElement, QualificationScore
    from salesops import organisation

    _CountOf, _SqlTemplate = _expressions()

    # Counted, so unordered: the models' default orderings would sort (and join the
    # elements for their order) once per deal.
    flags = OpportunityFlag.objects.filter(
        opportunity=OuterRef("pk"), cleared_at__isnull=True
    ).order_by()
    scores = QualificationScore.objects.filter(
        qualification=OuterRef("latest_qualification")
    ).order_by()
    elements = QualificationElement.objects.filter(
        framework_id=OuterRef("pipeline__framework_id")
    ).order_by()
    reviews = OpportunityReview.objects.filter(opportunity=OuterRef("pk")).annotate(
        ended=Coalesce("completed_at", "started_at")
    )
    inputs = {
        "critical": _CountOf(flags.filter(severity="critical").values("pk")),
        "warning": _CountOf(flags.exclude(severity="critical").values("pk")),
        "weak_scores": _CountOf(scores.filter(score__lt=rules.WEAK_BELOW).values("pk")),
        "scored": _CountOf(scores.values("pk")),
        "elements": _CountOf(elements.values("pk")),
    }
    org = organisation.current()
    tz = org.tz()
    age_points = reviews.order_by("-ended").annotate(
        age_points=_SqlTemplate(
            REVIEW_AGE_SQL,
            output_field=IntegerField(),
            cap=rules.RISK_REVIEW_AGE_CAP,
            today=Value(org.today(now), output_field=DateField()),
            ended_on=TruncDate("ended", tzinfo=tz),
            step=rules.REVIEW_AGE_STEP_DAYS,
        )
    )
    # Amounts in different currencies are never averaged together: a deal is weighed
    # against its team's open deals in its own currency.
    team_average = Window(Avg("amount"), partition_by=[F("owner__team_id"), F("currency")])
    risk_score = _SqlTemplate(
        RISK_SCORE_SQL,
        output_field=IntegerField(),
        flags_cap=rules.RISK_FLAGS_CAP,
        per_critical=rules.RISK_CRITICAL_FLAG,
        per_warning=rules.RISK_WARNING_FLAG,
        not_qualified=rules.RISK_NOT_QUALIFIED,
        latest=F("latest_qualification_id"),
        invalidated_at=F("latest_qualification__invalidated_at"),
        now=Value(now, output_field=DateTimeField()),
        assessed_at=F("latest_qualification__assessed_at"),
        validity=F("stage__qualification_validity_days"),
        default_validity=settings.QUALIFICATION_VALIDITY_DAYS,
        stale=rules.RISK_QUALIFICATION_STALE,
        weak_cap=rules.RISK_WEAK_CAP,
        per_weak=rules.RISK_WEAK_ELEMENT,
        value_cap=rules.RISK_VALUE_CAP,
        amount=F("amount"),
        average=team_average,
        age_points=Subquery(age_points.values("age_points")[:1]),
        never_reviewed=rules.RISK_NEVER_REVIEWED,
        **inputs,
    )
    return (
        qs.select_related("owner", "account", "stage", "latest_qualification")
        .annotate(
            critical_flags=inputs["critical"],
            warning_flags=inputs["warning"],
            weak_scores=inputs["weak_scores"],
            scored=inputs["scored"],
            framework_elements=inputs["elements"],
            last_review_at=Subquery(reviews.order_by("-ended").values("ended")[:1]),
            open_review_id=Subquery(reviews.filter(status=ReviewStatus.OPEN).values("pk")[:1]),
            team_average=team_average,
            risk_score=risk_score,
            ranked_total=Window(Count("pk")),
        )
        .order_by("-risk_score", "-amount", "id")
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
