"""The organisation's settings — company name, default currency, first month of the fiscal
year, time zone — as every part of the app reads them.

The values live in one row (salesops.models.Organisation) that an administrator edits on
/setup/. Until it is saved they are the environment's: settings.DEFAULT_CURRENCY,
FISCAL_YEAR_START_MONTH and TIME_ZONE are the defaults of a new install.

They are read all the time (every request activates the time zone, every forecast figure
needs the fiscal calendar) and changed perhaps once a year, so a process-local memo holds
them: a process reads the row at most once every REFRESH_SECONDS (one small query, paid by
whichever request comes first after that), and the process that changed them sees the
change at once (`remember`, called by the service). Other processes follow within
REFRESH_SECONDS. The Celery beat schedule is the exception: its time zone is read once,
when beat starts (salesops/celery.py).

Tests pin the memo (`pin`): tests/conftest.py resets it to the defaults before each test,
so no test pays a query for it, and a pinned memo never expires — a test that changes the
organisation through the service sees the change at once and nothing else.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import ProgrammingError, connection
from django.utils import timezone

from salesops.models import Organisation

logger = logging.getLogger(__name__)

# How long a process trusts its memo before it reads the row again.
REFRESH_SECONDS = 5.0

# PostgreSQL's "undefined_table": the organisation's table is not migrated yet.
UNDEFINED_TABLE = "42P01"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class OrganisationSettings:
    name: str
    default_currency: str
    fiscal_year_start_month: int
    time_zone: str

    def tz(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.time_zone)  # ZoneInfo keeps its own cache per key
        except (ZoneInfoNotFoundError, ValueError):
            # Saved on a machine whose zoneinfo knew the name (organisation_update checks
            # it), or written around the service: every page would fail on it, including
            # /setup/ where it is mended. Say so loudly and use the install's default.
            logger.error(
                "The organisation's time zone %r is unknown here; using %s until it is "
                "corrected on /setup/.",
                self.time_zone,
                settings.TIME_ZONE,
            )
            return ZoneInfo(settings.TIME_ZONE)

    def localtime(self, moment: dt.datetime) -> dt.datetime:
        """`moment` in the organisation's time zone."""
        return timezone.localtime(moment, self.tz())

    def today(self, now: dt.datetime | None = None) -> dt.date:
        """Today (or `now`'s day) in the organisation's time zone, whatever time zone the
        current request or task activated."""
        return self.localtime(now or timezone.now()).date()

    def start_of(self, day: dt.date) -> dt.datetime:
        """The first moment of `day` (00:00) in the organisation's time zone."""
        return dt.datetime.combine(day, dt.time.min, tzinfo=self.tz())


@dataclass(frozen=True)
class _Memo:
    values: OrganisationSettings
    expires_at: float  # on _clock(); math.inf: pinned


# The memo and its clock (a module attribute so a test can move it).
_memo: _Memo | None = None
_clock: Callable[[], float] = time.monotonic


def defaults() -> OrganisationSettings:
    """The environment's values: those of an install whose administrator saved nothing."""
    return OrganisationSettings(
        name="",
        default_currency=settings.DEFAULT_CURRENCY,
        fiscal_year_start_month=settings.FISCAL_YEAR_START_MONTH,
        time_zone=settings.TIME_ZONE,
    )


def from_row(row: Organisation) -> OrganisationSettings:
    return OrganisationSettings(
        name=row.name,
        default_currency=row.default_currency,
        fiscal_year_start_month=row.fiscal_year_start_month,
        time_zone=row.time_zone,
    )


def _read() -> OrganisationSettings | None:
    """The saved values, the defaults when nothing was saved, or None when the table does
    not exist yet (outside a transaction: a command running before `migrate`; inside one the
    error stands, as it aborted the caller's transaction — no savepoint is paid for that
    case on every read)."""
    try:
        row = Organisation.objects.filter(pk=1).first()
    except ProgrammingError as exc:
        cause = exc.__cause__
        code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        if code == UNDEFINED_TABLE and not connection.in_atomic_block:
            return None
        raise
    return defaults() if row is None else from_row(row)


@functools.cache
def available_time_zones() -> frozenset[str]:
    """The IANA time zone names zoneinfo knows (Europe/Berlin, UTC, …)."""
    return frozenset(zoneinfo.available_timezones())


def current() -> OrganisationSettings:
    """The organisation's settings: from the memo while it is fresh, else read again."""
    memo = _memo
    if memo is not None and _clock() < memo.expires_at:
        return memo.values
    values = _read()
    if values is None:
        return defaults()  # not migrated yet: nothing to remember
    _store(values, pinned=False)
    return values


def _store(values: OrganisationSettings, *, pinned: bool) -> None:
    global _memo
    _memo = _Memo(values, math.inf if pinned else _clock() + REFRESH_SECONDS)


def remember(values: OrganisationSettings) -> None:
    """The process that changed the settings uses them at once. A pinned memo (tests) stays
    pinned; otherwise the row is read again after REFRESH_SECONDS, as usual — which also
    mends the memo if the change was rolled back after all."""
    memo = _memo
    _store(values, pinned=memo is not None and memo.expires_at == math.inf)


def pin(values: OrganisationSettings | None = None) -> None:
    """Use `values` (default: the environment's) until told otherwise, without ever reading
    the database — for tests."""
    _store(values or defaults(), pinned=True)


def forget() -> None:
    """Drop the memo: the next `current()` reads the database."""
    global _memo
    _memo = None


def in_time_zone(func: F) -> F:
    """Run `func` (a management command's `handle`) with the organisation's time zone
    active, as the middleware does for a request and salesops/celery.py for a task, so
    timezone.localdate() and localtime() there mean the organisation's day."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with timezone.override(current().tz()):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
