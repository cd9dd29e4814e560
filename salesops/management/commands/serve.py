"""``manage.py serve``: the one-command run — web server, Celery worker and Celery beat.

Without DATABASE_URL / REDIS_URL it first starts (or attaches to) the embedded
PostgreSQL and Redis — the settings only say where they listen. Then it migrates,
loads the demo data on the first run (unless told not to: ``--no-demo`` or
SALESOPS_DEMO=0, which `DEMO=0 make run` sets; the first page then creates the first
administrator), and supervises three children: gunicorn
(``salesops.wsgi``), ``celery worker`` and ``celery beat``. The children get the
servers' URLs explicitly.

Ctrl-C / SIGTERM stops the children (SIGTERM, then SIGKILL after a grace
period), then the embedded servers if this process started them. If a child
dies, everything is stopped and the command exits non-zero. Data stays in var/.

What it prints is a short line per step and a banner with the address and the logins;
the children write to var/log/web.log, worker.log and beat.log (``--verbose`` or
SALESOPS_VERBOSE=1 — ``make run VERBOSE=1`` — streams them here instead). When a child
dies, the end of its log is printed.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import signal
import socket
import subprocess
import sys
import time
from argparse import ArgumentParser
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import IO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.urls import reverse
from gunicorn.config import KNOWN_SETTINGS

GRACE_SECONDS = 30
READY_TIMEOUT = 90
DEMO_LOGINS = "admin, leader, manager1, manager2, rep1 … rep8"
# Users the demo always has: when they all exist, the banner lists the demo logins.
DEMO_USERNAMES = ("admin", "leader", "manager1", "rep1")
DEMO_ENV = "SALESOPS_DEMO"
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}

# What _prepare found or did: the banner says it.
DEMO_LOADED, STARTED_EMPTY, USERS_EXIST = "demo_loaded", "started_empty", "users_exist"


def demo_wanted_from_env() -> bool:
    """SALESOPS_DEMO: 1/true/yes/on (or unset/empty) loads the demo on the first run,
    0/false/no/off starts empty. Anything else is a mistake worth stopping for."""
    value = os.environ.get(DEMO_ENV, "").strip().lower()
    if value in TRUE_WORDS or not value:
        return True
    if value in FALSE_WORDS:
        return False
    raise CommandError(f"{DEMO_ENV}={value!r}: use 1 (load the demo on the first run) or 0.")


def _die_with_parent() -> None:
    """In the child: get SIGTERM if `serve` itself dies (even by SIGKILL). Linux only."""
    with contextlib.suppress(Exception):
        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Command(BaseCommand):
    help = (
        "Migrate, seed demo data on the first run (unless --no-demo), then run web server, "
        "Celery worker and beat."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--port",
            type=int,
            default=int(os.environ.get("PORT") or 8000),
            help="default $PORT or 8000",
        )
        parser.add_argument(
            "--host", default=os.environ.get("HOST") or "127.0.0.1", help="default 127.0.0.1"
        )
        parser.add_argument(
            "--web-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY") or 2)
        )
        parser.add_argument(
            "--verbose",
            action="store_true",
            default=os.environ.get("SALESOPS_VERBOSE", "").strip().lower() in TRUE_WORDS,
            help="stream the web server's and Celery's logs here (SALESOPS_VERBOSE=1)",
        )
        parser.add_argument(
            "--no-demo",
            action="store_true",
            help=f"start empty on the first run instead of loading the demo ({DEMO_ENV}=0)",
        )

    def handle(
        self,
        *args,
        port: int,
        host: str,
        web_workers: int,
        no_demo: bool = False,
        verbose: bool = False,
        **options,
    ) -> None:
        demo = demo_wanted_from_env() and not no_demo
        self._verbose = verbose
        self._stop_requested = 0
        self._first_signal_at = 0.0
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._on_signal)
        try:
            self._check_port_free(host, port)
            self._start_embedded()
            self._outcome = self._prepare(demo=demo)
            self._supervise(host=host, port=port, web_workers=web_workers)
        except KeyboardInterrupt:
            self.stderr.write("Interrupted before the servers started.")
            raise SystemExit(130) from None
        finally:
            self._stop_embedded()

    # --- steps ---------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        now = time.monotonic()
        if self._stop_requested and now - self._first_signal_at < 1.0:
            # The same stop reaching us twice (e.g. `kill` of the process group while
            # make forwards it too) is not the impatient second Ctrl-C.
            return
        if not self._stop_requested:
            self._first_signal_at = now
        self._stop_requested += 1
        if self._stop_requested == 1 and not getattr(self, "_children", None):
            # Still migrating/seeding: abort that the usual way; `finally` cleans up.
            raise KeyboardInterrupt

    def _check_port_free(self, host: str, port: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                raise CommandError(
                    f"Cannot listen on {host}:{port} ({exc.strerror}). "
                    "Is another server running? Choose another one with --port or PORT=…"
                ) from exc

    def _start_embedded(self) -> None:
        if not settings.EMBEDDED_SERVERS:
            return  # DATABASE_URL and REDIS_URL were given.
        from salesops import embedded

        names = " and ".join(settings.EMBEDDED_SERVERS)
        with self._step(f"Starting the embedded {names} (data in {embedded.var_dir()})"):
            embedded.start(
                settings.EMBEDDED_SERVERS,
                expected={"postgres": settings.DATABASE_URL, "redis": settings.REDIS_URL},
            )

    def _prepare(self, *, demo: bool = True) -> str:
        """Migrate; on the first run (no users) load the demo if wanted and available.
        Returns what happened: DEMO_LOADED, STARTED_EMPTY or USERS_EXIST."""
        pending = self._pending_migrations()
        title = (
            f"Migrating the database ({pending} migrations to apply)"
            if pending
            else "Checking the database (up to date)"
        )
        with self._step(title):
            call_command("migrate", interactive=False, verbosity=0)

        users = get_user_model().objects
        if users.exists():
            self._line("Users exist already: demo data not loaded again.")
            outcome = USERS_EXIST
            self._demo_users = users.filter(username__in=DEMO_USERNAMES).count() == len(
                DEMO_USERNAMES
            )
        elif not demo:
            self._line("First run: starting empty, without demo data.")
            outcome = STARTED_EMPTY
        elif "seed_demo" in get_commands():
            with self._step("First run: loading the demo company"):
                call_command("seed_demo", stdout=io.StringIO())
            outcome = DEMO_LOADED
        else:
            self.stderr.write(
                self.style.WARNING(
                    "No users yet and no seed_demo command available: starting without demo data."
                )
            )
            outcome = STARTED_EMPTY

        if not settings.DEBUG:
            with self._step("Collecting static files"):
                call_command("collectstatic", interactive=False, verbosity=0)

        # The children open their own connections; don't hold ours while they run.
        connections.close_all()
        return outcome

    def _children_commands(self, *, host: str, port: int, web_workers: int) -> dict[str, list[str]]:
        from salesops import embedded

        schedule = embedded.var_dir() / "celerybeat-schedule"
        python = sys.executable
        web_extra = []
        if any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS):
            # gunicorn >= 27 opens a control socket in ~/.gunicorn by default; two
            # checkouts running `serve` would fight over it, and we don't use it.
            web_extra.append("--no-control-socket")
        return {
            "web": [
                python, "-m", "gunicorn", "salesops.wsgi:application",
                "--bind", f"{host}:{port}",
                "--workers", str(web_workers),
                "--timeout", "60",
                "--graceful-timeout", "10",
                "--access-logfile", "-",
                *web_extra,
            ],
            "worker": [
                python, "-m", "celery", "-A", "salesops", "worker",
                "-l", "info", "--concurrency", "2",
            ],
            "beat": [
                python, "-m", "celery", "-A", "salesops", "beat",
                "-l", "info", "--schedule", str(schedule),
            ],
        }  # fmt: skip

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        # Explicit URLs: children attach to the servers this process found or started.
        env["DATABASE_URL"] = settings.DATABASE_URL
        env["REDIS_URL"] = settings.REDIS_URL
        env["DJANGO_SETTINGS_MODULE"] = os.environ.get(
            "DJANGO_SETTINGS_MODULE", "salesops.settings"
        )
        env["PYTHONUNBUFFERED"] = "1"
        base = str(settings.BASE_DIR)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (base, env.get("PYTHONPATH")) if p)
        return env

    def _log_path(self, name: str) -> Path:
        from salesops import embedded

        return embedded.var_dir() / "log" / f"{name}.log"

    def _child_output(self, name: str) -> int | IO[bytes] | None:
        """Where a child writes: here when verbose, else its log file in var/log/."""
        if getattr(self, "_verbose", True):
            return None
        path = self._log_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("ab")
        self._log_files.append(handle)
        return handle

    def _log_tail(self, name: str, lines: int = 20) -> str:
        path = self._log_path(name)
        if getattr(self, "_verbose", True) or not path.exists():
            return ""
        tail = path.read_text(errors="replace").splitlines()[-lines:]
        return f"\nThe end of {path}:\n" + "\n".join(f"  {line}" for line in tail)

    def _supervise(self, *, host: str, port: int, web_workers: int) -> None:
        self._line("Starting the web server, the Celery worker and Celery beat")
        env = self._child_env()
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._log_files: list[IO[bytes]] = []
        for name, argv in self._children_commands(
            host=host, port=port, web_workers=web_workers
        ).items():
            output = self._child_output(name)
            # Own session: a terminal Ctrl-C reaches only us, and we stop the children in
            # order; pdeathsig covers the case where we are killed without a chance to.
            self._children[name] = subprocess.Popen(
                argv,
                env=env,
                cwd=settings.BASE_DIR,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT if output is not None else None,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )

        failure = None
        try:
            failure = self._wait_until_ready(host, port)
            if failure is None and not self._stop_requested:
                self._banner(host, port)
                failure = self._watch()
        finally:
            self._stop_children()
            for handle in self._log_files:
                handle.close()
        if failure:
            raise CommandError(f"{failure} — stopped everything.{self._failed_log()}")
        self.stdout.write("Stopped.")

    def _dead_child(self) -> str | None:
        for name, child in self._children.items():
            code = child.poll()
            if code is not None:
                self._failed = name
                return f"The {name} process exited unexpectedly (exit code {code})"
        return None

    def _failed_log(self) -> str:
        name = getattr(self, "_failed", None)
        return self._log_tail(name) if name else ""

    def _wait_until_ready(self, host: str, port: int) -> str | None:
        probe_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        deadline = time.monotonic() + READY_TIMEOUT
        while not self._stop_requested:
            failure = self._dead_child()
            if failure:
                return failure
            with contextlib.suppress(OSError), socket.create_connection((probe_host, port), 1):
                return None
            if time.monotonic() > deadline:
                return f"The web server did not accept connections within {READY_TIMEOUT}s"
            time.sleep(0.3)
        return None

    def _watch(self) -> str | None:
        while not self._stop_requested:
            failure = self._dead_child()
            if failure:
                return failure
            time.sleep(0.5)
        return None

    def _stop_children(self) -> None:
        alive = {name: child for name, child in self._children.items() if child.poll() is None}
        if not alive:
            return
        self._line("Stopping (Ctrl-C again to kill at once)")
        for child in alive.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
        seen = self._stop_requested
        deadline = time.monotonic() + GRACE_SECONDS
        while any(child.poll() is None for child in alive.values()):
            if time.monotonic() > deadline or self._stop_requested > max(seen, 1):
                break
            time.sleep(0.2)
        for name, child in alive.items():
            # Kill the whole group: gunicorn workers and Celery pool processes too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            if child.wait() not in (0, -signal.SIGTERM):
                self.stderr.write(f"{name} exited with code {child.returncode}")

    def _stop_embedded(self) -> None:
        if not settings.EMBEDDED_SERVERS:
            return  # DATABASE_URL and REDIS_URL were given: nothing of ours to stop.
        from salesops import embedded

        stopped = embedded.stop_all(only_started_here=True)
        if stopped:
            self.stdout.write(f"Stopped embedded {' and '.join(stopped)} (data kept in var/).")

    def _pending_migrations(self) -> int:
        from django.db.migrations.executor import MigrationExecutor

        try:
            executor = MigrationExecutor(connections["default"])
            return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
        except Exception:  # a count for the progress line only; migrate says what is wrong
            return 0

    # --- output --------------------------------------------------------------------

    def _line(self, text: str) -> None:
        self.stdout.write(f"• {text}")

    @contextlib.contextmanager
    def _step(self, title: str) -> Iterator[None]:
        """One progress line: the step, then how long it took."""
        self.stdout.write(f"• {title} …", ending="")
        self.stdout.flush()
        started = time.monotonic()
        try:
            yield
        except BaseException:
            self.stdout.write(" failed")
            raise
        self.stdout.write(f" done ({time.monotonic() - started:.1f} s)")

    def _banner(self, host: str, port: int) -> None:
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        url = f"http://{shown_host}:{port}/"
        lines = ["", f"  Salesops is running at {url}"]
        outcome = getattr(self, "_outcome", USERS_EXIST)
        if outcome == STARTED_EMPTY:
            lines += [
                "  Started empty (no demo data). Open "
                f"{url}{reverse('setup_first_admin').lstrip('/')} to create the first",
                "  administrator — or in a terminal: python manage.py createsuperuser",
            ]
        elif outcome == DEMO_LOADED or getattr(self, "_demo_users", False):
            if outcome == DEMO_LOADED:
                lines.append("  First run: demo data loaded.")
            if settings.DEBUG:
                lines.append(f'  Demo logins (password "demo"): {DEMO_LOGINS}')
            else:
                lines.append("  DEBUG is off: demo logins are refused; use your own accounts.")
        else:
            lines.append("  Sign in with your account.")
        if not getattr(self, "_verbose", True):
            lines.append(
                f"  Logs: {self._log_path('web').parent}/ (web, worker, beat);"
                " make run VERBOSE=1 shows them here."
            )
        lines += ["  Press Ctrl-C to stop.", ""]
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))
