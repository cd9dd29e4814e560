"""gunicorn's settings in production: the Docker image and docker-compose start the web
service with them (`gunicorn -c python:salesops.gunicorn_conf salesops.wsgi:application`),
and bench/load.py measures them. Each can be changed in the environment:

- GUNICORN_WORKERS (or gunicorn's own WEB_CONCURRENCY, which must then be a number):
  worker processes (default: one per CPU core, plus one). A request is
  mostly Python (templates, the ORM), and one process runs on one core at a time; the one
  more keeps the cores busy while a request waits on PostgreSQL.
- GUNICORN_THREADS: threads per worker (default 1). Threads share their process's core
  (Python's GIL): on 2 cores, 2 workers × 4 threads served 50 requests a second with a
  p95 of 730 ms where 2 × 1 served 56 with 550 ms (bench/load.py, no pause between
  requests). More threads help only where requests mostly wait (e.g. a slow database).
- GUNICORN_TIMEOUT: seconds before a stuck worker is replaced (default 30).
- GUNICORN_MAX_REQUESTS: requests before a worker is replaced, with jitter (default 2000;
  bounds the memory a long-lived worker grows to; 0 turns it off).

bench/load.py's README section gives what these were chosen from (measured on 2 cores)."""

from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


wsgi_app = "salesops.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = _int("GUNICORN_WORKERS", _int("WEB_CONCURRENCY", (os.cpu_count() or 1) + 1))
threads = _int("GUNICORN_THREADS", 1)
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = 10
keepalive = 5
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10
accesslog = "-"
# The app is imported once, before the workers are forked: they start at once and share
# the imported code's memory. (A code change needs a restart, not a HUP.)
preload_app = True
# Behind the TLS proxy: the proxy's X-Forwarded-* headers are trusted by Django's settings
# (TRUSTED_PROXY_SSL_HEADER), not by gunicorn.
