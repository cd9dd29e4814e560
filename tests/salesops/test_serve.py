"""`manage.py serve`'s first-run choice: the demo, or an empty install whose first page
creates the administrator — and what its banner says. The servers themselves are not
started here: the steps are called one by one."""

from __future__ import annotations

import io

import pytest
from django.core.management.base import CommandError

from salesops.management.commands import serve
from tests.factories import UserFactory


class NoConnections:
    """serve closes its connections before starting the children; here that would close the
    test's transaction."""

    def close_all(self) -> None:
        pass


@pytest.fixture
def command(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(serve, "call_command", lambda name, *a, **kw: calls.append(name))
    monkeypatch.setattr(serve, "connections", NoConnections())
    cmd = serve.Command(stdout=io.StringIO(), stderr=io.StringIO())
    cmd.calls = calls
    return cmd


def banner(cmd: serve.Command) -> str:
    cmd._banner("127.0.0.1", 8000)
    return cmd.stdout.getvalue()


@pytest.mark.parametrize(
    ("value", "wanted"),
    [(None, True), ("", True), ("1", True), ("yes", True), ("0", False), ("off", False)],
)
def test_the_demo_choice_from_the_environment(monkeypatch, value, wanted):
    if value is None:
        monkeypatch.delenv(serve.DEMO_ENV, raising=False)
    else:
        monkeypatch.setenv(serve.DEMO_ENV, value)
    assert serve.demo_wanted_from_env() is wanted


def test_a_mistyped_demo_choice_stops(monkeypatch):
    monkeypatch.setenv(serve.DEMO_ENV, "maybe")
    with pytest.raises(CommandError, match="SALESOPS_DEMO"):
        serve.demo_wanted_from_env()


def test_no_demo_is_an_option():
    parser = serve.Command().create_parser("manage.py", "serve")
    assert parser.parse_args(["--no-demo"]).no_demo is True
    assert parser.parse_args([]).no_demo is False


def test_the_first_run_loads_the_demo(command, db, settings):
    settings.DEBUG = True
    command._outcome = command._prepare(demo=True)
    assert command._outcome == serve.DEMO_LOADED
    assert command.calls[:2] == ["migrate", "seed_demo"]
    text = banner(command)
    assert "demo data loaded" in text and 'Demo logins (password "demo")' in text


def test_the_first_run_starts_empty_when_asked(command, db):
    command._outcome = command._prepare(demo=False)
    assert command._outcome == serve.STARTED_EMPTY
    assert command.calls[0] == "migrate" and "seed_demo" not in command.calls
    text = banner(command)
    assert "Started empty" in text
    assert "http://127.0.0.1:8000/setup/first-admin/ to create the first" in text
    assert "python manage.py createsuperuser" in text
    assert "Demo logins" not in text


def test_with_users_nothing_is_loaded_whatever_the_choice(command, admin_user):
    command._outcome = command._prepare(demo=True)
    assert command._outcome == serve.USERS_EXIST
    assert command.calls[0] == "migrate" and "seed_demo" not in command.calls
    text = banner(command)
    assert "Sign in with your account." in text
    assert "Demo logins" not in text and "first-admin" not in text


def test_a_demo_install_keeps_showing_the_demo_logins(command, db, settings):
    settings.DEBUG = True
    for username in serve.DEMO_USERNAMES:
        UserFactory(username=username)
    command._outcome = command._prepare(demo=False)
    assert command._outcome == serve.USERS_EXIST
    assert 'Demo logins (password "demo")' in banner(command)


def test_each_step_is_one_line_with_its_time(command, db, settings):
    settings.DEBUG = True
    command._outcome = command._prepare(demo=True)
    text = command.stdout.getvalue()
    lines = [line for line in text.splitlines() if line]
    assert lines[0].startswith("• ") and " done (" in lines[0]  # migrate, quietly
    assert any(line.startswith("• First run: loading the demo company … done (") for line in lines)
    assert len(lines) <= 3  # no migration list, no seed report


def test_the_children_write_to_their_logs_unless_verbose(command, tmp_path, monkeypatch):
    from salesops import embedded

    monkeypatch.setattr(embedded, "var_dir", lambda *a: tmp_path)
    command._verbose, command._log_files = False, []
    handle = command._child_output("worker")
    handle.write(b"line 1\nline 2\nboom: Redis refused\n")
    handle.close()
    assert (tmp_path / "log" / "worker.log").exists()
    command._failed = "worker"
    tail = command._failed_log()
    assert "boom: Redis refused" in tail and str(tmp_path / "log" / "worker.log") in tail
    assert "Logs: " in banner(command)
    command._verbose = True
    assert command._child_output("web") is None  # streamed to this terminal
    assert command._failed_log() == ""


def test_verbose_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("SALESOPS_VERBOSE", "1")
    parser = serve.Command().create_parser("manage.py", "serve")
    assert parser.parse_args([]).verbose is True
    monkeypatch.setenv("SALESOPS_VERBOSE", "0")
    parser = serve.Command().create_parser("manage.py", "serve")
    assert parser.parse_args([]).verbose is False
