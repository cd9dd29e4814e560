"""Seed the benchmark database: the demo people and pipeline, then N opportunities.

    .venv/bin/python bench/seed.py --rows 100000 [--reset]

The database is separate from the dev one: ``BENCH_DATABASE_URL``, or the database
of ``DATABASE_URL`` renamed to ``salesops_bench``, or (without either) a
``salesops_bench`` database in the embedded PostgreSQL. It is created and migrated
when missing.

Opportunities go in with ``bulk_create`` (batches of 5,000); the rows that hang off
them — the "Created" history rows, a stage move into the current stage, milestone
completions of the stages already passed, a business issue and two activities —
are written set-based with ``INSERT … SELECT`` over the new ids, so 100,000
opportunities (about 1.5 million rows in all) take well under a minute. Like
``seed_demo`` it writes rows directly to fabricate history; every constraint holds.
Seeding only adds rows up to ``--rows``, so 1,000 and then 100,000 reuses the first
1,000.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "salesops_bench"
BATCH = 5_000
ACCOUNTS = 2_000


def database_url_for(name: str, env_var: str, explicit: str | None = None) -> str:
    """A benchmark's own database (which need not exist yet): `explicit`, else $`env_var`,
    else the database of DATABASE_URL renamed to `name` (same server), else `name` in the
    embedded PostgreSQL. Every benchmark keeps its data apart from the others' and the
    tests'."""
    if explicit:
        return explicit
    if url := os.environ.get(env_var):
        return url
    if url := os.environ.get("DATABASE_URL"):
        return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    sys.path.insert(0, str(ROOT))
    from salesops import embedded

    return embedded.database_url(name=name)


def bench_database_url() -> str:
    """The URL of the benchmark database of run.py (which need not exist yet)."""
    return database_url_for(BENCH_DB, "BENCH_DATABASE_URL")


def ensure_database(url: str) -> None:
    """CREATE DATABASE when it is missing (connecting to the server's `postgres` db)."""
    import dj_database_url
    import psycopg2
    from psycopg2 import sql

    cfg = dj_database_url.parse(url)
    conn = psycopg2.connect(
        dbname="postgres",
        user=cfg["USER"] or None,
        password=cfg["PASSWORD"] or None,
        host=cfg["HOST"] or None,
        port=cfg["PORT"] or None,
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]])
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(cfg["NAME"])))
            print(f"created database {cfg['NAME']}")
    conn.close()


def setup_django(url: str, **env: str) -> None:
    """Point Django at the benchmark database and set it up (call once, before any model use)."""
    os.environ["DATABASE_URL"] = url
    for key, value in env.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesops.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def reset() -> None:
    """Empty the pipeline tables and the demo users (TRUNCATE: the history trigger is on UPDATE)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE pipeline_activity, pipeline_businessissue, pipeline_milestonecompletion, "
            "pipeline_opportunitychange, pipeline_opportunity, pipeline_account, "
            "pipeline_milestone, pipeline_stage, pipeline_pipeline, salesops_apikey, "
            "salesops_auditevent RESTART IDENTITY CASCADE"
        )
        cur.execute("UPDATE salesops_team SET manager_id = NULL")
        cur.execute("DELETE FROM salesops_user")
        cur.execute("DELETE FROM salesops_team")


def ensure_base() -> None:
    """The demo users, teams and pipeline (from seed_demo), plus accounts; once."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from demo.company.cast import DEMO_PASSWORD, create_people, create_pipeline
    from demo.management.commands.seed_demo import demo_data_exists
    from pipeline.models import Account

    if demo_data_exists():
        return
    rng = random.Random(7)
    industries = [
        "Manufacturing",
        "Logistics",
        "Financial services",
        "Healthcare",
        "Retail",
        "Software",
        "Energy",
        "Insurance",
        "Telecommunications",
        "Education",
    ]
    with transaction.atomic():
        create_people(make_password(DEMO_PASSWORD))
        create_pipeline()
        Account.objects.bulk_create(
            [
                Account(
                    name=f"Bench Account {i:05d}",
                    domain=f"bench{i}.example",
                    industry=rng.choice(industries),
                    employees=rng.randint(50, 50_000),
                )
                for i in range(1, ACCOUNTS + 1)
            ],
            batch_size=BATCH,
        )


def seed_opportunities(rows: int, *, seed: int = 1) -> int:
    """Add opportunities until there are `rows`; returns how many were added."""
    from django.db import connection, transaction
    from django.utils import timezone

    from pipeline.models import Account, ForecastCategory, Opportunity, Pipeline
    from salesops.models import Role, User

    have = Opportunity.objects.count()
    if have >= rows:
        return 0
    need = rows - have
    rng = random.Random(seed + have)
    pipeline = Pipeline.objects.get(name="New business")
    stages = list(pipeline.stages.order_by("order"))
    open_stages = [s for s in stages if not s.is_closed]
    won = next(s for s in stages if s.is_won)
    lost = next(s for s in stages if s.is_lost)
    owners = list(User.objects.filter(role__in=[Role.REP, Role.MANAGER]).order_by("id"))
    account_ids = list(Account.objects.order_by("id").values_list("id", flat=True))
    now = timezone.now()
    today = timezone.localdate()
    t0 = time.perf_counter()
    with transaction.atomic():
        max_id = Opportunity.objects.order_by("-id").values_list("id", flat=True).first() or 0
        for start in range(0, need, BATCH):
            batch = []
            for i in range(have + start, have + min(start + BATCH, need)):
                status = rng.choices(["open", "won", "lost"], weights=[60, 22, 18])[0]
                stage = (
                    rng.choice(open_stages)
                    if status == "open"
                    else won
                    if status == "won"
                    else lost
                )
                entered = now - dt.timedelta(days=rng.uniform(0, 120))
                category = (
                    stage.forecast_category
                    if status == "open"
                    else ForecastCategory.CLOSED
                    if status == "won"
                    else ForecastCategory.OMITTED
                )
                batch.append(
                    Opportunity(
                        name=f"Bench deal {i + 1:06d}",
                        account_id=rng.choice(account_ids),
                        owner=rng.choice(owners),
                        pipeline=pipeline,
                        stage=stage,
                        amount=Decimal(rng.randrange(5_000, 400_000, 500)),
                        currency="EUR",
                        close_date=today + dt.timedelta(days=rng.randint(-365, 365)),
                        forecast_category=category,
                        status=status,
                        loss_reason="Chose a competitor." if status == "lost" else "",
                        closed_at=entered if status != "open" else None,
                        next_step="Follow up" if status == "open" else "",
                        stage_entered_at=entered,
                        last_activity_at=entered + dt.timedelta(days=rng.uniform(0, 5)),
                    )
                )
            Opportunity.objects.bulk_create(batch, batch_size=BATCH)
        _related_rows(connection, max_id)
    with connection.cursor() as cur:
        # What autovacuum does on a live database: statistics, and the visibility map
        # that lets COUNT(*) and key-only page queries skip the table.
        cur.execute("VACUUM ANALYZE")
    print(
        f"seeded {need:,} opportunities (+ related rows) in {time.perf_counter() - t0:.1f}s "
        f"→ {rows:,} in all"
    )
    return need


def _related_rows(connection, after_id: int) -> None:
    """History, milestone completions, business issues and activities for ids > after_id."""
    with connection.cursor() as cur:
        # Four "Created" rows per opportunity, as opportunity_create writes them.
        cur.execute(
            """
            INSERT INTO pipeline_opportunitychange
                (opportunity_id, field, old_value, new_value, old_display, new_display,
                 changed_by_id, changed_at, override_reason, note)
            SELECT o.id, f.field, '', f.value, '', f.value, o.owner_id,
                   o.stage_entered_at - interval '30 days', '', 'Created'
            FROM pipeline_opportunity o
            CROSS JOIN LATERAL (VALUES
                ('stage', (SELECT min(id)::text FROM pipeline_stage
                           WHERE pipeline_id = o.pipeline_id)),
                ('amount', o.amount::text),
                ('close_date', o.close_date::text),
                ('forecast_category', 'pipeline')) AS f(field, value)
            WHERE o.id > %s
        """,
            [after_id],
        )
        # The move into the current stage.
        cur.execute(
            """
            INSERT INTO pipeline_opportunitychange
                (opportunity_id, field, old_value, new_value, old_display, new_display,
                 changed_by_id, changed_at, override_reason, note)
            SELECT o.id, 'stage', '', o.stage_id::text, '', s.name, o.owner_id,
                   o.stage_entered_at, '', ''
            FROM pipeline_opportunity o JOIN pipeline_stage s ON s.id = o.stage_id
            WHERE o.id > %s AND s."order" > 1
        """,
            [after_id],
        )
        # Every ticked milestone of the stages already passed (auto-checked ones excluded).
        cur.execute(
            """
            INSERT INTO pipeline_milestonecompletion
                (opportunity_id, milestone_id, evidence, completed_by_id, completed_at)
            SELECT o.id, m.id,
                   CASE WHEN m.requires_evidence THEN 'Confirmed by email' ELSE '' END,
                   o.owner_id, o.stage_entered_at - interval '1 day'
            FROM pipeline_opportunity o
            JOIN pipeline_stage cur ON cur.id = o.stage_id
            JOIN pipeline_stage ms ON ms.pipeline_id = o.pipeline_id
                 AND (ms."order" < cur."order" AND NOT ms.is_won AND NOT ms.is_lost)
            JOIN pipeline_milestone m ON m.stage_id = ms.id AND m.auto_check = ''
            WHERE o.id > %s AND NOT cur.is_lost
        """,
            [after_id],
        )
        cur.execute(
            """
            INSERT INTO pipeline_businessissue
                (opportunity_id, issue, impact, our_value, quantified_value, created_by_id,
                 created_at)
            SELECT o.id, 'Forecasts miss by more than 20%%', 'Plans built on wrong numbers',
                   'Gated stages bring the forecast within 10%%', 100000, o.owner_id,
                   o.stage_entered_at - interval '20 days'
            FROM pipeline_opportunity o WHERE o.id > %s
        """,
            [after_id],
        )
        cur.execute(
            """
            INSERT INTO pipeline_activity
                (opportunity_id, kind, subject, body, occurred_at, logged_by_id, created_at)
            SELECT o.id, k.kind, k.subject, '', o.last_activity_at - k.ago, o.owner_id,
                   o.last_activity_at - k.ago
            FROM pipeline_opportunity o
            CROSS JOIN (VALUES ('call', 'Discovery call', interval '0'),
                               ('email', 'Sent the recap', interval '3 days'))
                 AS k(kind, subject, ago)
            WHERE o.id > %s
        """,
            [after_id],
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--reset", action="store_true", help="empty the bench database first")
    args = parser.parse_args(argv)
    url = bench_database_url()
    ensure_database(url)
    setup_django(url)
    migrate()
    if args.reset:
        reset()
    ensure_base()
    seed_opportunities(args.rows)


if __name__ == "__main__":
    main()
