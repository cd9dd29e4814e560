"""make backup / make restore: a pg_dump archive restores into a fresh database whole."""

from __future__ import annotations

import io

import psycopg2
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from pipeline.models import Opportunity
from salesops import backups
from tests.factories import OpportunityFactory

# Every table's row count and a checksum of the opportunities, column by column.
CENSUS_SQL = """
SELECT table_name FROM information_schema.tables
WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name
"""
OPPORTUNITIES_CHECKSUM_SQL = """
SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM pipeline_opportunity t
"""


def census(cursor) -> tuple[dict[str, int], str]:
    cursor.execute(CENSUS_SQL)
    counts = {}
    for (table,) in cursor.fetchall():
        cursor.execute(f'SELECT count(*) FROM "{table}"')
        counts[table] = cursor.fetchone()[0]
    cursor.execute(OPPORTUNITIES_CHECKSUM_SQL)
    return counts, cursor.fetchone()[0]


def admin_connection():
    """A connection to the server's maintenance database (CREATE/DROP DATABASE)."""
    target = backups.Target.of()
    conn = psycopg2.connect(
        dbname="postgres",
        host=target.host or None,
        port=target.port or None,
        user=target.user or None,
        password=target.password or None,
    )
    conn.autocommit = True
    return conn


@pytest.fixture
def fresh_database():
    name = f"{backups.Target.of().name}_restored"[:63]
    admin = admin_connection()
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.mark.django_db(transaction=True)
def test_a_backup_restores_into_a_fresh_database_with_the_same_rows(tmp_path, fresh_database):
    for amount in (1_000, 25_500, 990_000):
        OpportunityFactory(amount=amount, name=f"Deal €{amount} — «quoted» 'name'")
    out = io.StringIO()
    archive = tmp_path / "salesops.dump"
    call_command("backup", "--output", str(archive), stdout=out)
    assert archive.is_file() and archive.stat().st_size > 0
    assert "make restore FILE=" in out.getvalue()
    assert not list(tmp_path.glob("*.partial"))

    backups.restore(archive, backups.Target.of(name=fresh_database))
    with connection.cursor() as cursor:
        expected = census(cursor)
    restored = psycopg2.connect(**_params(fresh_database))
    try:
        with restored.cursor() as cursor:
            got = census(cursor)
    finally:
        restored.close()
    assert got == expected
    assert expected[0]["pipeline_opportunity"] == Opportunity.objects.count() >= 3


def _params(name: str) -> dict:
    target = backups.Target.of(name=name)
    return {
        "dbname": name,
        "host": target.host or None,
        "port": target.port or None,
        "user": target.user or None,
        "password": target.password or None,
    }


@pytest.mark.django_db(transaction=True)
def test_a_failed_restore_changes_nothing(tmp_path, fresh_database):
    """A broken archive is refused as a whole: the database keeps what it had."""
    OpportunityFactory()
    with connection.cursor() as cursor:
        before = census(cursor)
    broken = tmp_path / "broken.dump"
    broken.write_bytes(b"PGDMP" + b"\x00" * 64)
    with pytest.raises(backups.BackupError, match="nothing was changed"):
        backups.restore(broken)
    with connection.cursor() as cursor:
        assert census(cursor) == before


def test_restore_asks_first_and_names_a_missing_file(tmp_path, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal: nobody to ask
    with pytest.raises(CommandError, match="add --yes"):
        call_command("restore", str(tmp_path / "x.dump"))
    with pytest.raises(CommandError, match="No backup file"):
        call_command("restore", str(tmp_path / "x.dump"), "--yes")


def test_a_failed_backup_leaves_no_file(db, tmp_path):
    target = backups.Target.of(name="no_such_database_for_backup")
    with pytest.raises(backups.BackupError, match="pg_dump failed"):
        backups.backup(tmp_path / "x.dump", target)
    assert list(tmp_path.iterdir()) == []


def test_the_tools_match_the_servers_major_version(db):
    major = backups.server_major()
    for tool in ("pg_dump", "pg_restore"):
        assert backups.tool_major(backups.pg_tool(tool, major)) == major
    with pytest.raises(backups.BackupError, match="PostgreSQL 7"):
        backups.pg_tool("pg_dump", 7)
