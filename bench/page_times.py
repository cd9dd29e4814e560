"""Server time of the pages and API reads a rep and a manager open most.

    .venv/bin/python bench/page_times.py [--rows 0] [--iterations 30] [--warmup 3]
                                         [--profile SCENARIO] [--database-url URL]

Database: ``--database-url``, else ``BENCH_PAGES_DATABASE_URL``, else the database of
``DATABASE_URL`` renamed to ``salesops_bench_pages`` (same server); created, migrated and
filled with ``seed_demo`` when it holds no demo data. ``--rows N`` then adds opportunities
with ``bench/seed.py`` until there are N (0, the default: the demo alone). Then
``VACUUM ANALYZE``.

Measured in-process with Django's test ``Client`` (``force_login``; ``DEBUG=0``, so Django
keeps no query log of its own; static URLs from the plain storage, no manifest needed), for
``rep1`` and ``manager1``: the board (``/``), the opportunity page (the user's open deal with
the most activities), the list page (``/opportunities/``), ``GET /api/v1/opportunities/``,
the same from the middle of the user's list with ``?cursor=`` (``api_cursor``: no count)
and the API detail of the same deal (session auth, as a logged-in browser calls it). Per scenario:
p50 / p95 / mean of ``--iterations`` requests after ``--warmup``, the queries per request
and the median time spent inside them (``connection.execute_wrapper``), so "outside SQL"
is the Python part: middleware, view, templates. ``--profile board-rep`` (etc.) prints
the top cProfile entries of that scenario (``BENCH_PROFILE_SORT=tottime`` to sort otherwise,
``BENCH_PROFILE_DUMP=file.prof`` to keep the stats). Targets (the issue): pages p50 <= 60 ms,
API reads <= 15 ms.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import seed as bench_seed

BENCH_DB = "salesops_bench_pages"
ENV = {"DEBUG": "0", "SECRET_KEY": "bench-only-secret-key-" + "x" * 40}
PLAIN_STATIC = "django.contrib.staticfiles.storage.StaticFilesStorage"
TARGETS = {
    "board": 60, "detail": 60, "list": 60, "api_list": 15, "api_cursor": 15, "api_detail": 15,
}  # fmt: skip


def database_url(explicit: str | None) -> str:
    return bench_seed.database_url_for(BENCH_DB, "BENCH_PAGES_DATABASE_URL", explicit)


def ensure_data(rows: int) -> None:
    from django.core.management import call_command

    from demo.management.commands.seed_demo import demo_data_exists

    if not demo_data_exists():
        call_command("seed_demo")
    if rows:
        bench_seed.seed_opportunities(rows)
    # What autovacuum does on a live database (it may be off on a dev server): without
    # statistics a freshly seeded table is planned as one row, e.g. the navbar's flag count
    # as a nested loop over every open deal per flag; without the visibility map an
    # index-only scan (the board's totals) reads the table after all.
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")


class QueryTimer:
    """Counts the statements of a request and the time spent in them."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - t0
            self.count += 1


def scenarios(user) -> dict[str, str]:
    from django.db.models import Count

    from pipeline import selectors

    opp = (
        selectors.opportunity_list_for(user, {})
        .filter(status="open")
        .annotate(n=Count("activities"))
        .order_by("-n", "pk")
        .first()
    )
    # A cursor from the middle of the user's list: how deep a walk with ?cursor= gets.
    from salesops.api.pagination import encode_cursor

    mine = selectors.opportunity_list_for(user, {})
    middle = mine.values("close_date", "id")[mine.count() // 2]
    return {
        "board": "/",
        "detail": f"/opportunities/{opp.pk}/",
        "list": "/opportunities/",
        "api_list": "/api/v1/opportunities/",
        "api_cursor": "/api/v1/opportunities/?cursor="
        + encode_cursor(middle["close_date"], middle["id"]),
        "api_detail": f"/api/v1/opportunities/{opp.pk}/",
    }


def measure(client, path: str, iterations: int, warmup: int) -> dict:
    from django.db import connection

    for _ in range(warmup):
        response = client.get(path, secure=True)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
    times, sql_times, counts = [], [], set()
    for _ in range(iterations):
        timer = QueryTimer()
        with connection.execute_wrapper(timer):
            t0 = time.perf_counter()
            response = client.get(path, secure=True)
            times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (path, response.status_code)
        sql_times.append(timer.seconds * 1000)
        counts.add(timer.count)
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
        "mean": statistics.fmean(times),
        "sql": statistics.median(sql_times),
        "queries": "/".join(str(c) for c in sorted(counts)),
    }


def profile(client, path: str, iterations: int, warmup: int) -> None:
    for _ in range(warmup):
        client.get(path, secure=True)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(iterations):
        client.get(path, secure=True)
    prof.disable()
    if dump := os.environ.get("BENCH_PROFILE_DUMP"):
        prof.dump_stats(dump)
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats(
        os.environ.get("BENCH_PROFILE_SORT", "cumulative")
    ).print_stats(45)
    print(out.getvalue())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=0)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--profile", help="e.g. board-rep: print its cProfile top entries")
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)
    url = database_url(args.database_url)
    bench_seed.ensure_database(url)
    for key, value in ENV.items():
        os.environ[key] = value
    bench_seed.setup_django(url)
    bench_seed.migrate()
    ensure_data(args.rows)

    from django.conf import settings
    from django.test import Client, override_settings

    # DEBUG=0 serves static URLs from collectstatic's manifest, which a checkout lacks; the
    # plain storage builds the same URLs without it (the manifest is a dict lookup).
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": PLAIN_STATIC}}
    override_settings(STORAGES=storages).enable()

    from pipeline.models import Opportunity
    from salesops.models import User

    print(
        f"{Opportunity.objects.count()} opportunities; {args.iterations} requests after "
        f"{args.warmup} warm-ups; load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'scenario':<18}{'p50 ms':>8}{'p95 ms':>8}{'mean':>8}{'in SQL':>8}"
        f"{'outside':>9}{'queries':>9}{'target':>8}"
    )
    for username in ("rep1", "manager1"):
        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)
        for name, path in scenarios(user).items():
            label = f"{name}-{username.rstrip('1')}"
            if args.profile:
                if args.profile == label:
                    profile(client, path, args.iterations, args.warmup)
                continue
            r = measure(client, path, args.iterations, args.warmup)
            print(
                f"{label:<18}{r['p50']:>8.1f}{r['p95']:>8.1f}{r['mean']:>8.1f}{r['sql']:>8.1f}"
                f"{r['p50'] - r['sql']:>9.1f}{r['queries']:>9}{TARGETS[name]:>8}"
            )


if __name__ == "__main__":
    main()
