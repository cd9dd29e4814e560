"""The cache backend: Django's Redis cache, which degrades to an empty cache while Redis is
unreachable instead of failing the request.

Nothing kept in the cache is the only copy of anything: the dashboard's numbers are
recomputed, an import's progress shows 0 until the next step writes it, and the API and
sign-in throttles count nothing (they let requests through: failing open, see README "When
Redis or PostgreSQL is down"). So a Redis outage may make pages slower, never make them fail.

While Redis is unreachable (redis-py's ConnectionError or TimeoutError):

* every operation answers as an empty cache would: ``get`` the default, ``get_many`` {},
  ``add``/``delete``/``touch``/``has_key`` False, ``set`` nothing, ``set_many`` every key
  as not stored, ``incr``/``decr`` raise ``CacheUnavailable`` — a ``ValueError``, as for a
  missing key (Django's contract), so code written for a missing key works unchanged;
* after a failure, Redis is not asked again for ``retry_after_seconds``: a page that reads
  the cache twenty times pays for one refused (or timed-out) connection, not twenty;
* the outage is logged as a warning at most once a minute per process, and its end once.

The socket timeouts (settings: ``REDIS_CACHE_TIMEOUT``) bound what one failed call costs
when Redis does not answer at all (a host gone, a firewall dropping packets).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

T = TypeVar("T")

# What "Redis is unreachable" looks like to redis-py (BusyLoadingError, a Redis still loading
# its data after a restart, is a ConnectionError too).
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


class CacheUnavailable(ValueError):
    """``incr``/``decr`` while the cache is unreachable: a ValueError, as for a missing key,
    so callers that create a missing counter keep working; those that must know (the
    throttles) catch this one."""


@dataclass
class _Outage:
    since: float
    skip_until: float
    warned_at: float


# Per process and per server list: every thread's cache object (Django keeps one per thread)
# shares what is known about the server.
_outages: dict[tuple[str, ...], _Outage] = {}
_lock = threading.Lock()


class DegradingRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` that answers as an empty cache while
    Redis is unreachable (see the module docstring)."""

    # Long enough that an outage costs few failed connections; short enough that the cache
    # is used again within seconds of Redis coming back.
    retry_after_seconds = 5.0
    warn_every_seconds = 60.0

    _servers: Sequence[str]  # set by RedisCache.__init__ (missing from the stubs)

    @property
    def _server_key(self) -> tuple[str, ...]:
        return tuple(self._servers)

    def _guarded(self, fallback: Callable[[], T], operation: Callable[..., T], *args: Any) -> T:
        """RedisCache's `operation`, or — Redis unreachable now or a moment ago — what an
        empty cache would answer (`fallback`)."""
        key = self._server_key
        outage = _outages.get(key)
        if outage is not None and time.monotonic() < outage.skip_until:
            return fallback()
        try:
            result = operation(self, *args)
        except UNREACHABLE as exc:
            self._failed(key, exc)
            return fallback()
        if outage is not None:
            self._recovered(key)
        return result

    def _failed(self, key: tuple[str, ...], exc: Exception) -> None:
        now = time.monotonic()
        with _lock:
            outage = _outages.get(key)
            if outage is None:
                outage = _outages[key] = _Outage(since=now, skip_until=0.0, warned_at=-1e12)
            outage.skip_until = now + self.retry_after_seconds
            warn = now - outage.warned_at >= self.warn_every_seconds
            if warn:
                outage.warned_at = now
        if warn:
            logger.warning(
                "Cache (Redis) unreachable: %s. Answering as an empty cache (pages compute "
                "afresh; the API and sign-in throttles let requests through) until it is back.",
                exc,
            )

    def _recovered(self, key: tuple[str, ...]) -> None:
        with _lock:
            outage = _outages.pop(key, None)
        if outage is not None:
            logger.info(
                "Cache (Redis) reachable again after %.0f s.", time.monotonic() - outage.since
            )

    # --- every operation of RedisCache; BaseCache builds the rest (decr, get_or_set,
    # the async variants) on these ---

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None):
        return self._guarded(lambda: False, RedisCache.add, key, value, timeout, version)

    def get(self, key: Any, default: Any = None, version: Any = None):
        return self._guarded(lambda: default, RedisCache.get, key, default, version)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None):
        return self._guarded(lambda: None, RedisCache.set, key, value, timeout, version)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None):
        return self._guarded(lambda: False, RedisCache.touch, key, timeout, version)

    def delete(self, key: Any, version: Any = None):
        return self._guarded(lambda: False, RedisCache.delete, key, version)

    def get_many(self, keys: Any, version: Any = None):
        return self._guarded(dict, RedisCache.get_many, keys, version)

    def has_key(self, key: Any, version: Any = None):
        return self._guarded(lambda: False, RedisCache.has_key, key, version)

    def incr(self, key: Any, delta: int = 1, version: Any = None):
        def unavailable() -> int:
            raise CacheUnavailable(f"Key {key!r} not found: the cache is unreachable.")

        return self._guarded(unavailable, RedisCache.incr, key, delta, version)

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None):
        # BaseCache's contract: the keys that were not stored.
        return self._guarded(lambda: list(data), RedisCache.set_many, data, timeout, version)

    def delete_many(self, keys: Any, version: Any = None):
        return self._guarded(lambda: None, RedisCache.delete_many, keys, version)

    def clear(self):
        return self._guarded(lambda: False, RedisCache.clear)
