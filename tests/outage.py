"""Helpers for the tests of outages: a port nothing listens on, the cache pointed elsewhere,
and a Redis of the test's own that it can stop and start again."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from salesops import embedded


def closed_port() -> int:
    """A port nothing listens on (bound for a moment by us, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cache_at(settings, url: str) -> None:
    """The configured cache (its backend and options), pointed at `url` — `settings` is
    pytest-django's fixture, which puts the cache back after the test."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": url},
    }


class OwnRedis:
    """The embedded Redis binary, in a directory and on a port of the test's own."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = closed_port()
        self.url = embedded.redis_url(directory, port=self.port)

    def stop(self) -> None:
        assert embedded._stop_redis(embedded.var_dir(self.directory) / "redis")

    def start(self) -> None:
        """Again, on the same port, with the data it saved when it stopped."""
        assert embedded.redis_url(self.directory, port=self.port) == self.url


@contextlib.contextmanager
def own_redis(directory: str | os.PathLike[str]) -> Iterator[OwnRedis]:
    server = OwnRedis(Path(directory))
    try:
        yield server
    finally:
        embedded.stop_all(directory)
