"""The organisation's fiscal calendar, today in its timezone, and the fiscal period a label
names: what every forecasting service (and many reads) count periods and weeks by."""

from __future__ import annotations

import datetime as dt
from typing import Any

from forecasting import rules
from salesops import organisation
from salesops.exceptions import ValidationFailed


def fiscal_calendar() -> rules.FiscalCalendar:
    """The organisation's fiscal calendar (its first month: salesops.organisation)."""
    return rules.FiscalCalendar(organisation.current().fiscal_year_start_month)


def local_today(now: dt.datetime | None = None) -> dt.date:
    """Today in the organisation's timezone (salesops.organisation), whatever timezone the
    current request activated."""
    return organisation.current().today(now)


def period_from_label(label: Any, *, field: str = "period") -> rules.Period:
    """The fiscal period named by `label` (a `Period` passes through); a bad label is a
    ValidationFailed with the parser's message under `details[field]`."""
    if isinstance(label, rules.Period):
        return label
    try:
        return fiscal_calendar().parse(label)
    except ValueError as exc:
        raise ValidationFailed(str(exc), details={field: [str(exc)]}) from exc
