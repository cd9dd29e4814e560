"""Caching forecast numbers without ever serving stale ones.

Entries are keyed by the forecast data version (forecasting.models.ForecastDataVersion),
which deferred triggers bump when a transaction that changed a deal, a stage, a quota, a
call, a snapshot, a person's team or a team commits — whatever the path. The version is
read BEFORE the numbers are computed, so an entry is never older than its key says: a
change committed in between only makes the entry newer than needed, and every change
makes all older entries unreachable at once (they expire on their own).

Entries are keyed by the organisation's settings too (salesops.organisation: time zone,
first month of the fiscal year, default currency): they decide which deals fall into which
period and day, so after an administrator changes them no entry computed under the old
ones is served — wherever the numbers were computed (each process follows a change within
a few seconds, and a computation during which its process's settings changed is not
stored).

FORECAST_CACHE_SECONDS (settings) is how long an entry lives; 0 turns caching off (the
test settings do, since a test's rolled-back writes never bump the version)."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from salesops import organisation

T = TypeVar("T")


def data_version() -> int | None:
    """The current forecast data version; None when the row is missing (never cache then)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM forecasting_forecastdataversion WHERE id = 1")
        row = cursor.fetchone()
    return row[0] if row else None


def _key(namespace: str, parts: tuple[Any, ...], org: organisation.OrganisationSettings) -> str:
    calendar = (org.time_zone, org.fiscal_year_start_month, org.default_currency)
    digest = hashlib.sha256(repr((*calendar, *parts)).encode()).hexdigest()[:32]
    return f"forecast:{namespace}:{digest}"


def _load(key: str) -> Any:
    """The cached value, unpickled with Python's cyclic garbage collector paused: a study
    is tens of thousands of small objects, and the collector, triggered by their
    allocation, scanned them again and again during the load (165 ms instead of 45 ms for
    the million-deal study, bench/README.md). It runs as usual afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return cache.get(key)
    finally:
        if was_enabled:
            gc.enable()


def cached_numbers(namespace: str, parts: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """`compute()`, or its result cached under (namespace, parts, the data version).
    `parts` must name everything the result depends on besides the data (the scope, the
    period, the day when "today" matters…); the result must pickle."""
    seconds = settings.FORECAST_CACHE_SECONDS
    if seconds <= 0:
        return compute()
    version = data_version()
    if version is None:
        return compute()
    org = organisation.current()
    key = _key(namespace, (version, *parts), org)
    hit = _load(key)
    if hit is not None:
        return hit
    result = compute()
    if organisation.current() == org:  # else computed (partly) under other settings
        cache.set(key, result, seconds)
    return result


def cached_daily(
    namespace: str,
    parts: tuple[Any, ...],
    compute: Callable[[], T],
    *,
    generation: Callable[[], tuple[Any, ...]] | None = None,
) -> T:
    """`compute()`, or its result cached for the day under (namespace, parts) — for numbers
    that are by definition a daily figure (the win rates from history: deals that entered
    a stage 90–455 days ago, as of today's midnight) and need not follow every change.
    `parts` must include the day; `generation`, when given, is asked (only when caching is
    on) for more parts: what must start a new entry within the day."""
    if settings.FORECAST_CACHE_SECONDS <= 0:
        return compute()
    org = organisation.current()
    if generation is not None:
        parts = (*parts, *generation())
    key = _key(namespace, parts, org)
    hit = _load(key)
    if hit is not None:
        return hit
    result = compute()
    if organisation.current() == org:
        cache.set(key, result, 26 * 3600)  # the day, and the next day's early hours
    return result
