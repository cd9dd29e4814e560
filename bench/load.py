"""Load: simulated reps and managers through gunicorn with the production settings.

    make bench-load                      # = .venv/bin/python bench/load.py
    .venv/bin/python bench/load.py [--rows 100000] [--users 25] [--duration 2m]
                                   [--think 1-3] [--workers N] [--threads N]
                                   [--no-worker] [--database-url URL]

1. A database of its own (``--database-url``, else ``BENCH_LOAD_DATABASE_URL``, else the
   database of ``DATABASE_URL`` renamed to ``salesops_bench_load``, else the embedded
   PostgreSQL): the demo company, then opportunities up to ``--rows`` (bench/seed.py),
   ``VACUUM ANALYZE``.
2. The plan for locust (bench/locustfile.py): for rep1 … rep8 and manager1, manager2 a
   signed-in session, a read-only API key, and up to 200 of their open deals with the
   milestones of the current stage they may tick.
3. ``collectstatic``, then gunicorn with ``salesops/gunicorn_conf.py`` (what production
   runs; ``--workers``/``--threads`` override it, as GUNICORN_WORKERS/GUNICORN_THREADS do)
   and, unless ``--no-worker``, a Celery worker on the same machine (the tasks the writes
   queue are worked off while the pages are measured, as in production).
4. locust, headless: ``--users`` users (spawned 5 a second), each a rep (4 in 5) or a
   manager, for ``--duration``, pausing ``--think`` seconds between requests ("0": no
   pause — the throughput the machine can take).

Prints per request type: requests, failures, requests per second, p50 / p95 / p99 ms
(locust's, as the client sees them), and the targets: pages p95 <= 300 ms, API reads
p95 <= 100 ms, 0 failures. Writes the figures to bench/results/load-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import page_times
from bench import run as bench_run
from bench import seed as bench_seed

ROOT = bench_seed.ROOT
BENCH_DB = "salesops_bench_load"
USERS = {f"rep{i}": 4 for i in range(1, 9)} | {"manager1": 8, "manager2": 8}
DEALS_PER_USER = 200
TARGET_P95_MS = {"page": 300, "write": 300, "api": 100}


def database_url(explicit: str | None) -> str:
    return bench_seed.database_url_for(BENCH_DB, "BENCH_LOAD_DATABASE_URL", explicit)


def write_plan(path: Path) -> None:
    """Who signs in as whom, and what each works on (see the module's docstring)."""
    from django.test import Client

    from pipeline.models import Milestone, Opportunity
    from salesops.models import User
    from salesops.services import api_key_create

    users = []
    for username, weight in USERS.items():
        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)  # a real session in the database, as a sign-in makes
        _, raw_key = api_key_create(user=user, name="bench/load.py", scopes=["read"])
        deals = list(
            Opportunity.objects.filter(owner__in=[user, *User.objects.filter(team__manager=user)])
            .filter(status="open")
            .order_by("?")
            .values("id", "stage_id")[:DEALS_PER_USER]
        )
        tickable = {}
        for m in Milestone.objects.filter(auto_check="", completable_by="owner").values(
            "id", "stage_id"
        ):
            tickable.setdefault(m["stage_id"], []).append(m["id"])
        users.append(
            {
                "username": username,
                "weight": weight,
                "session": client.cookies["sessionid"].value,
                "api_key": raw_key,
                "deals": [
                    {"id": d["id"], "milestones": tickable.get(d["stage_id"], [])} for d in deals
                ],
            }
        )
    path.write_text(json.dumps({"users": users}))


def start_celery_worker(database_url: str, redis_url: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, **bench_run.ENV, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    cmd = [sys.executable, "-m", "celery", "-A", "salesops", "worker", "-l", "warning"]
    output = log.open("ab")
    return subprocess.Popen(
        [*cmd, "--concurrency", "1"], cwd=ROOT, env=env, stdout=output, stderr=output
    )


def warm_up(port: int, plan: Path, rounds: int = 3) -> None:
    """Each request type a few times, each on a new connection (so every worker gets some):
    a worker compiles a template, reverses a URL pattern, opens its database connection
    the first time it needs it, and that one-off cost is not what users meet."""
    import http.client

    users = json.loads(plan.read_text())["users"]
    for _ in range(rounds):
        for who in users:
            deal = who["deals"][0]["id"]
            for path, auth in (
                ("/", "session"),
                ("/opportunities/", "session"),
                (f"/opportunities/{deal}/", "session"),
                ("/api/v1/opportunities/", "key"),
                (f"/api/v1/opportunities/{deal}/", "key"),
            ):
                headers = {"X-Forwarded-Proto": "https", "Connection": "close"}
                if auth == "session":
                    headers["Cookie"] = f"sessionid={who['session']}"
                else:
                    headers["Authorization"] = f"Bearer {who['api_key']}"
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                conn.close()
                if response.status != 200:
                    raise SystemExit(f"warm-up: GET {path} as {who['username']}: {response.status}")


def run_locust(host: str, plan: Path, args, out: Path) -> tuple[list[dict], dict]:
    env = {
        **os.environ,
        "SALESOPS_LOAD_PLAN": str(plan),
        "SALESOPS_LOAD_THINK": args.think,
        "SALESOPS_LOAD_OUTCOMES": str(out / "outcomes.json"),
    }
    cmd = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
        "--headless", "--users", str(args.users), "--spawn-rate", "5",
        "--run-time", args.duration, "--host", host, "--csv", str(out / "load"),
        "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "10",
    ]  # fmt: skip
    subprocess.run(cmd, cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL)
    with (out / "load_stats.csv").open() as f:
        rows = list(csv.DictReader(f))
    outcomes_file = out / "outcomes.json"
    outcomes = json.loads(outcomes_file.read_text()) if outcomes_file.exists() else {}
    return rows, outcomes


def report(rows: list[dict], outcomes: dict, args, config: str) -> dict:
    print(
        f"\n{args.users} users, {args.duration}, think {args.think} s, gunicorn {config}\n"
        f"{'request':<24}{'count':>7}{'fail':>6}{'req/s':>8}{'p50':>7}{'p95':>7}{'p99':>7}"
        f"{'max':>8}{'target p95':>12}"
    )
    figures, met = [], True
    for row in rows:
        name = row["Name"]
        kind = name.split(":", 1)[0] if name != "Aggregated" else ""
        target = TARGET_P95_MS.get(kind)
        p95 = float(row["95%"])
        failures = int(row["Failure Count"])
        ok = (target is None or p95 <= target) and failures == 0
        met = met and ok
        figure = {
            "name": name,
            "requests": int(row["Request Count"]),
            "failures": failures,
            "rps": float(row["Requests/s"]),
            "p50": float(row["50%"]),
            "p95": p95,
            "p99": float(row["99%"]),
            "max": float(row["Max Response Time"]),
        }
        figures.append(figure)
        print(
            f"{name:<24}{figure['requests']:>7}{failures:>6}{figure['rps']:>8.1f}"
            f"{figure['p50']:>7.0f}{p95:>7.0f}{figure['p99']:>7.0f}{figure['max']:>8.0f}"
            f"{(f'{target} ' + ('ok' if ok else 'MISSED')) if target else '':>12}"
        )
    if outcomes:
        print("writes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    print("targets met" if met else "targets MISSED")
    return {"figures": figures, "outcomes": outcomes, "met": met}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=25)
    parser.add_argument("--duration", default="2m")
    parser.add_argument("--think", default="1-3", help='seconds between requests, "0": none')
    parser.add_argument("--workers", type=int, help="gunicorn workers (GUNICORN_WORKERS)")
    parser.add_argument("--threads", type=int, help="threads per worker (GUNICORN_THREADS)")
    parser.add_argument("--no-worker", action="store_true", help="no Celery worker alongside")
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)

    url = database_url(args.database_url)
    bench_seed.ensure_database(url)
    for key, value in bench_run.ENV.items():
        os.environ[key] = value
    bench_seed.setup_django(url)
    bench_seed.migrate()
    page_times.ensure_data(args.rows)

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    call_command("collectstatic", interactive=False, verbosity=0)
    out = Path(tempfile.mkdtemp(prefix="salesops-load-"))
    plan = out / "plan.json"
    write_plan(plan)
    connections.close_all()

    gunicorn_env = {"REDIS_URL": settings.REDIS_URL}
    if args.workers:
        gunicorn_env["GUNICORN_WORKERS"] = str(args.workers)
    if args.threads:
        gunicorn_env["GUNICORN_THREADS"] = str(args.threads)
    probe = subprocess.run(
        [sys.executable, "-c", "import salesops.gunicorn_conf as g; print(g.workers, g.threads)"],
        cwd=ROOT, env={**os.environ, **gunicorn_env}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    workers, threads = probe.stdout.split()
    config = f"{workers} workers × {threads} threads (gthread)"
    port = bench_run.free_port()
    log = out / "servers.log"
    worker = None if args.no_worker else start_celery_worker(url, settings.REDIS_URL, log)
    server = bench_run.start_gunicorn(
        url, port, config=("-c", "python:salesops.gunicorn_conf"), env=gunicorn_env, log=log
    )
    try:
        warm_up(port, plan)
        rows, outcomes = run_locust(f"http://127.0.0.1:{port}", plan, args, out)
    finally:
        bench_run.stop_gunicorn(server)
        if worker:
            bench_run.stop_gunicorn(worker)
    result = report(rows, outcomes, args, config)
    bench_run.RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = bench_run.RESULTS / f"load-{stamp}.json"
    target.write_text(
        json.dumps(
            {
                **result,
                "users": args.users,
                "duration": args.duration,
                "think": args.think,
                "gunicorn": config,
                "celery_worker": not args.no_worker,
                "rows": args.rows,
                "load_average_after": os.getloadavg(),
            },
            indent=2,
        )
    )
    print(f"figures: {target}; server logs: {log}")


if __name__ == "__main__":
    main()
