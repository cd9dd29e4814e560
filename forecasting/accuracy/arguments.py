"""The arguments of forecast_accuracy (forecasting.accuracy.report) cleaned, the periods
it covers and the cutoff of each checkpoint."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from forecasting import rules
from forecasting import services as forecasting_services
from forecasting.models import SubmissionLevel
from salesops import organisation
from salesops.cleaning import clean_currency
from salesops.exceptions import ValidationFailed

DEFAULT_CHECKPOINTS: dict[rules.PeriodKind, tuple[int, ...]] = {
    rules.PeriodKind.QUARTER: (1, 6),
    rules.PeriodKind.MONTH: (1, 3),
}
CHECKPOINT_WEEKS = {rules.PeriodKind.QUARTER: 13, rules.PeriodKind.MONTH: 4}
MAX_PERIODS = 12
MAX_CHECKPOINTS = 4


def checkpoint_cutoff(period: rules.Period, week: int) -> dt.date:
    """The day checkpoint `week` of `period` has ended by (00:00 of it, exclusive): the
    Monday after week `week` — rules.week_start(period.start) + 7·week days — or the
    period's end when that is earlier."""
    return min(rules.week_start(period.start) + dt.timedelta(days=7 * week), period.end)


def _clean_kind(errors: dict[str, list[str]], kind: Any) -> rules.PeriodKind | None:
    try:
        return rules.PeriodKind(kind or rules.PeriodKind.QUARTER)
    except ValueError:
        errors["kind"] = ['Choose "quarter" or "month".']
        return None


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.isascii() and text.isdigit() and len(text) <= 6:
        return int(text)
    return None


def _clean_periods(errors: dict[str, list[str]], periods: Any) -> int:
    number = _whole_number(periods)
    if number is None or not 1 <= number <= MAX_PERIODS:
        errors["periods"] = [f"Enter a whole number of periods from 1 to {MAX_PERIODS}."]
        return 0
    return number


def _clean_checkpoints(
    errors: dict[str, list[str]], checkpoints: Any, kind: rules.PeriodKind | None
) -> tuple[int, ...]:
    if kind is None:
        return ()
    if checkpoints in (None, ""):
        return DEFAULT_CHECKPOINTS[kind]
    weeks = CHECKPOINT_WEEKS[kind]
    message = (
        f"Give 1 to {MAX_CHECKPOINTS} different weeks of the {kind.value}, each from 1 to "
        f'{weeks}, like "1,6".'
    )
    items = checkpoints.split(",") if isinstance(checkpoints, str) else checkpoints
    try:
        values = [_whole_number(item) for item in items]
    except TypeError:  # not iterable
        values = [None]
    if (
        not values
        or len(values) > MAX_CHECKPOINTS
        or any(v is None or not 1 <= v <= weeks for v in values)
        or len(set(values)) != len(values)
    ):
        errors["checkpoints"] = [message]
        return ()
    return tuple(sorted(v for v in values if v is not None))


def _clean_level(errors: dict[str, list[str]], level: Any) -> str | None:
    if level in (None, ""):
        return None
    if level not in SubmissionLevel.values:
        errors["level"] = ['Choose "rep" or "team".']
        return None
    return str(level)


@dataclass(frozen=True)
class AccuracyRequest:
    """What forecast_accuracy was asked, cleaned: the kind, checkpoints, level and
    currency, the periods (oldest first) and the cutoff of each (period start, week)."""

    kind: rules.PeriodKind
    weeks: tuple[int, ...]
    level: str | None
    code: str
    periods: list[rules.Period]
    cutoffs: dict[tuple[dt.date, int], dt.datetime]
    org: organisation.OrganisationSettings
    tz: ZoneInfo


def accuracy_request(
    kind: Any, periods: Any, checkpoints: Any, level: Any, currency: Any, now: dt.datetime | None
) -> AccuracyRequest:
    """The arguments cleaned (all errors at once: a ValidationFailed naming the fields),
    the last `periods` closed periods and the checkpoints' cutoffs."""
    errors: dict[str, list[str]] = {}
    the_kind = _clean_kind(errors, kind)
    count = _clean_periods(errors, periods)
    weeks = _clean_checkpoints(errors, checkpoints, the_kind)
    the_level = _clean_level(errors, level)
    code = clean_currency(errors, currency or organisation.current().default_currency)
    if errors:
        raise ValidationFailed(details=errors)
    assert the_kind is not None

    calendar = forecasting_services.fiscal_calendar()
    newest = calendar.period_of(forecasting_services.local_today(now), the_kind).previous()
    the_periods = [newest.shifted(-back) for back in range(count - 1, -1, -1)]
    org = organisation.current()
    tz = org.tz()
    cutoffs = {
        (p.start, week): org.start_of(checkpoint_cutoff(p, week))
        for p in the_periods
        for week in weeks
    }
    return AccuracyRequest(
        kind=the_kind,
        weeks=weeks,
        level=the_level,
        code=code,
        periods=the_periods,
        cutoffs=cutoffs,
        org=org,
        tz=tz,
    )
