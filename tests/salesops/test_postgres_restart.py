"""A PostgreSQL restart under a running web process: the next request reconnects.

The web process keeps its connection between requests (CONN_MAX_AGE); a restarted server
has closed it. With CONN_HEALTH_CHECKS the first query of the next request finds the
connection dead and opens a new one — without them that request is a 500. The test runs a
PostgreSQL of its own (the embedded server, in a temporary directory) and a Django process
of its own pointed at it, restarts the server between two requests and asks for a page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from salesops import embedded

SCRIPT = r"""
import json, sys, threading, urllib.request
from wsgiref.simple_server import WSGIRequestHandler, make_server
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.test import Client
from salesops import embedded
from salesops.models import Role, User

call_command("migrate", verbosity=0)
user = User.objects.create_user("restart-rep", password="x" * 16, role=Role.REP)
client = Client()
client.force_login(user)
cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"

class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass

# A real WSGI server in one thread: its connection is kept between requests, as in
# production (the test Client would bypass the request signals that check it).
server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=Quiet)
threading.Thread(target=server.serve_forever, daemon=True).start()

def status():
    url = f"http://127.0.0.1:{server.server_port}/opportunities/"
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code

statuses = [status(), status()]
embedded._stop_postgres(embedded.var_dir(sys.argv[1]) / "postgres")
embedded.database_url(sys.argv[1])  # the same server, started again
statuses += [status(), status()]
server.shutdown()
print(json.dumps({"statuses": statuses}))
"""


@pytest.fixture
def own_postgres(tmp_path):
    url = embedded.database_url(tmp_path)
    try:
        yield tmp_path, url
    finally:
        embedded.stop_all(tmp_path)


def test_the_next_request_after_a_postgres_restart_is_served(own_postgres):
    directory, url = own_postgres
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "salesops.settings",
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(directory)],
        cwd=Path(settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["statuses"] == [200, 200, 200, 200], result.stderr[-3000:]


def test_the_settings_check_connections_before_reuse():
    database = settings.DATABASES["default"]
    assert database["CONN_HEALTH_CHECKS"] is True
    assert database["CONN_MAX_AGE"] > 0  # kept between requests: hence the check
