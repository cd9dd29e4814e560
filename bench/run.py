"""Benchmark the opportunity list and detail endpoints at 1,000 and at 100,000 rows.

    .venv/bin/python bench/run.py [--rows 100000] [--small-rows 1000] [--iterations 200]
                                  [--warmup 20] [--skip-gunicorn]

Steps (in a separate database, see bench/seed.py):
1. reset and seed --small-rows opportunities; count the queries of every scenario;
2. seed up to --rows; count the queries again and time every scenario in-process
   (DRF's APIClient, a real API key of the sales leader, DEBUG off);
3. time the selectors alone (no HTTP, no serialization) for reference;
4. unless --skip-gunicorn: start `gunicorn salesops.wsgi -w 2` on a free port
   (DEBUG=0, SECRET_KEY, ALLOWED_HOSTS=127.0.0.1), time the same scenarios over
   HTTP with http.client, stop it.
Prints a table and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import seed as bench_seed

ROOT = bench_seed.ROOT
RESULTS = ROOT / "bench" / "results"
PAGE_SIZE = 50
DEEP_PAGE = 1000
TARGETS_MS = {"list": 15.0, "list_stage": 15.0, "list_deep": 15.0, "detail": 10.0}
# Production-like settings for this process and for gunicorn.
ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    # Throttling stays on (its cache round trip is part of the cost); the limit is
    # raised so that a benchmark never gets a 429.
    "API_THROTTLE_RATE": "1000000/min",
    "TRUSTED_PROXY_SSL_HEADER": "X-Forwarded-Proto",
}
# DEBUG=0 turns on SECURE_SSL_REDIRECT: requests say they came through a TLS proxy, whose
# header the app believes only when told to (ENV's TRUSTED_PROXY_SSL_HEADER).
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summarize(samples_ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(samples_ms, 50), 2),
        "p95_ms": round(percentile(samples_ms, 95), 2),
        "mean_ms": round(statistics.fmean(samples_ms), 2),
        "min_ms": round(min(samples_ms), 2),
        "n": len(samples_ms),
    }


def timed(fn: Callable[[], Any], iterations: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


# --- scenarios -----------------------------------------------------------------------


def scenarios() -> dict[str, str]:
    """The URLs to measure, given the rows in the database now."""
    from pipeline.models import Opportunity, Stage

    total = Opportunity.objects.count()
    stage = Stage.objects.get(pipeline__name="New business", name="Solution")
    deep = min(DEEP_PAGE, max(1, math.ceil(total / PAGE_SIZE)))
    # A mid-pipeline deal with history, completions, issues and activities.
    detail_id = (
        Opportunity.objects.filter(stage=stage)
        .order_by("id")
        .values_list("id", flat=True)[total // 20 // 5]
    )
    return {
        "list": "/api/v1/opportunities/",
        "list_stage": f"/api/v1/opportunities/?stage={stage.pk}",
        "list_deep": f"/api/v1/opportunities/?page={deep}",
        "detail": f"/api/v1/opportunities/{detail_id}/",
    }


def leader_key() -> tuple[Any, str]:
    from salesops.models import User
    from salesops.services import api_key_create

    leader = User.objects.get(username="leader")
    _, raw = api_key_create(
        user=leader, name=f"bench {dt.datetime.now():%Y%m%d-%H%M%S}", scopes=["read"]
    )
    return leader, raw


def api_client(raw_key: str) -> Any:
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def get_ok(client: Any, url: str) -> Any:
    response = client.get(url, secure=True, HTTP_ACCEPT="application/json")
    if response.status_code != 200:
        raise SystemExit(f"GET {url} → {response.status_code}: {response.content[:300]!r}")
    return response


def count_queries(client: Any, urls: dict[str, str]) -> dict[str, dict[str, Any]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    result = {}
    for name, url in urls.items():
        get_ok(client, url)  # warm: the once-a-minute last_used_at update, caches
        with CaptureQueriesContext(connection) as ctx:
            response = get_ok(client, url)
        body = response.json()
        result[name] = {
            "url": url,
            "queries": len(ctx.captured_queries),
            "sql": [q["sql"] for q in ctx.captured_queries],
            "rows_in_page": len(body["results"])
            if isinstance(body, dict) and "results" in body
            else 1,
        }
    return result


def time_in_process(
    client: Any, urls: dict[str, str], iterations: int, warmup: int
) -> dict[str, dict[str, float]]:
    return {
        name: summarize(timed(lambda u=url: get_ok(client, u), iterations, warmup))
        for name, url in urls.items()
    }


def time_selectors(leader: Any, iterations: int, warmup: int) -> dict[str, dict[str, float]]:
    """The reads alone, as the list view does them: COUNT(*) + one page of rows."""
    from pipeline import selectors
    from pipeline.models import Opportunity, Stage

    stage = Stage.objects.get(pipeline__name="New business", name="Solution")
    total = Opportunity.objects.count()
    deep = min(DEEP_PAGE, max(1, math.ceil(total / PAGE_SIZE)))
    detail_id = (
        Opportunity.objects.filter(stage=stage)
        .order_by("id")
        .values_list("id", flat=True)[total // 20 // 5]
    )

    def page(filters: dict[str, Any], number: int) -> Callable[[], Any]:
        def run() -> None:
            qs = selectors.opportunity_list_for(leader, filters)
            qs.count()
            offset = (number - 1) * PAGE_SIZE
            list(qs[offset : offset + PAGE_SIZE])

        return run

    return {
        "list": summarize(timed(page({}, 1), iterations, warmup)),
        "list_stage": summarize(timed(page({"stage": stage.pk}, 1), iterations, warmup)),
        "list_deep": summarize(timed(page({}, deep), iterations, warmup)),
        "detail": summarize(
            timed(lambda: selectors.opportunity_get_for(leader, detail_id), iterations, warmup)
        ),
    }


# --- gunicorn ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(
    database_url: str,
    port: int,
    config: tuple[str, ...] = ("-w", "2"),
    env: dict[str, str] | None = None,
    log: Path | None = None,
) -> subprocess.Popen[bytes]:
    """gunicorn on 127.0.0.1:`port` with `config` (its command-line options) and the
    production-like ENV (plus `env`), its output to `log` if given; returns once it
    accepts connections."""
    from gunicorn.config import KNOWN_SETTINGS

    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "salesops.wsgi:application",
        *config,
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]
    if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS):
        cmd.append("--no-control-socket")
    env = {
        **os.environ,
        **ENV,
        "DATABASE_URL": database_url,
        "ALLOWED_HOSTS": "127.0.0.1",
        **(env or {}),
    }
    output = log.open("ab") if log else None
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=output, stderr=output)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    stop_gunicorn(proc)
    raise SystemExit("gunicorn did not start within 30 s")


def stop_gunicorn(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def time_gunicorn(
    database_url: str, raw_key: str, urls: dict[str, str], iterations: int, warmup: int
) -> dict[str, dict[str, Any]]:
    port = free_port()
    proc = start_gunicorn(database_url, port)
    headers = {
        "Authorization": f"Bearer {raw_key}",
        "Accept": "application/json",
        "Host": "127.0.0.1",
        **PROXY_HEADERS,
    }
    # Keep-alive where the server allows it; gunicorn's sync workers close after each
    # response, and http.client then reconnects by itself.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(url: str) -> None:
        conn.request("GET", url, headers=headers)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"gunicorn GET {url} → {response.status}: {body[:300]!r}")
        if response.getheader("Connection", "").lower() == "close":
            conn.close()

    try:
        return {
            name: summarize(timed(lambda u=url: get(u), iterations, warmup))
            for name, url in urls.items()
        }
    finally:
        conn.close()
        stop_gunicorn(proc)


# --- output ----------------------------------------------------------------------------


def print_table(results: dict[str, Any]) -> None:
    small, large = results["small_rows"], results["rows"]
    print()
    print(
        f"{'scenario':<11} {'queries@' + format(small, ','):>15} "
        f"{'queries@' + format(large, ','):>16} │ {'in-process p50/p95/mean ms':>27} "
        f"{'target':>7} │ {'gunicorn p50/p95/mean ms':>25} │ {'selector p50':>12}"
    )
    print("─" * 132)
    for name in TARGETS_MS:
        q_small = results["queries_small"][name]["queries"]
        q_large = results["queries_large"][name]["queries"]
        ip = results["in_process"][name]
        ok = "ok" if ip["p50_ms"] <= TARGETS_MS[name] else "MISS"
        gu = results.get("gunicorn", {}).get(name)
        gu_text = f"{gu['p50_ms']:.1f} / {gu['p95_ms']:.1f} / {gu['mean_ms']:.1f}" if gu else "—"
        sel = results["selectors"][name]["p50_ms"]
        same = "" if q_small == q_large else " ≠"
        print(
            f"{name:<11} {q_small:>15} {q_large:>16}{same:2}│ "
            f"{ip['p50_ms']:>9.1f} / {ip['p95_ms']:>5.1f} / {ip['mean_ms']:>5.1f} "
            f"{'≤' + format(TARGETS_MS[name], 'g'):>5} {ok:<4}│ {gu_text:>25} │ {sel:>10.1f}"
        )
    print()
    for name, row in results["queries_large"].items():
        print(f"{name}: {row['url']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Benchmark the opportunity API.")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--small-rows", type=int, default=1_000)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--skip-gunicorn", action="store_true")
    args = parser.parse_args(argv)

    url = bench_seed.bench_database_url()
    bench_seed.ensure_database(url)
    bench_seed.setup_django(url, **ENV)
    bench_seed.migrate()
    from django.conf import settings
    from django.db import connection

    # Start from --small-rows: reset when the database holds more (a previous run).
    from pipeline.models import Opportunity

    if Opportunity.objects.count() > args.small_rows:
        bench_seed.reset()
    bench_seed.ensure_base()
    bench_seed.seed_opportunities(args.small_rows)
    leader, raw_key = leader_key()
    client = api_client(raw_key)
    urls_small = scenarios()
    queries_small = count_queries(client, urls_small)

    bench_seed.seed_opportunities(args.rows)
    urls = scenarios()
    queries_large = count_queries(client, urls)
    print(
        f"timing in-process: {args.iterations} iterations after {args.warmup} warm-up "
        f"(DEBUG={settings.DEBUG})"
    )
    in_process = time_in_process(client, urls, args.iterations, args.warmup)
    selector_times = time_selectors(leader, args.iterations, args.warmup)

    results: dict[str, Any] = {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "host": platform.node(),
        "python": platform.python_version(),
        "postgres": connection.cursor().connection.server_version,
        "rows": args.rows,
        "small_rows": args.small_rows,
        "iterations": args.iterations,
        "warmup": args.warmup,
        "page_size": PAGE_SIZE,
        "targets_ms_p50_in_process": TARGETS_MS,
        "queries_small": queries_small,
        "queries_large": queries_large,
        "in_process": in_process,
        "selectors": selector_times,
    }
    if not args.skip_gunicorn:
        connection.close()
        print("timing gunicorn -w 2 over HTTP …")
        results["gunicorn"] = time_gunicorn(url, raw_key, urls, args.iterations, args.warmup)

    print_table(results)
    same = all(queries_small[n]["queries"] == queries_large[n]["queries"] for n in TARGETS_MS)
    met = all(in_process[n]["p50_ms"] <= TARGETS_MS[n] for n in TARGETS_MS)
    print(
        f"\nquery counts equal at {args.small_rows:,} and {args.rows:,} rows: "
        f"{'yes' if same else 'NO'}; in-process p50 targets met: {'yes' if met else 'NO'}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"bench-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
