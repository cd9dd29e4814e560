"""Helpers the forecasting reads share: a person's display name, and the query-string
checks of an id and a period label."""

from __future__ import annotations

from typing import Any

from django.http import Http404

from forecasting import rules
from forecasting import services as forecasting_services
from salesops.cleaning import query_int


def person_name(first: str, last: str, username: str) -> str:
    """A person's name from its columns, as User.__str__ gives it (for rows read with
    values(), without the User)."""
    return f"{first} {last}".strip() or username  # as User.__str__


def id_or_404(value: Any, what: str) -> int:
    """A team or person id from a query string; anything else is a 404 (as if there were no
    such record), never a 500."""
    number = query_int(value)
    if not number:  # None, or 0 (no record has it)
        raise Http404(f"No such {what}.")
    return number


def period_or_current(period_label: Any) -> rules.Period:
    """The period of `period_label`; none: the current fiscal quarter. A bad label is a
    ValidationFailed with the parser's message in details.period."""
    if period_label in (None, ""):
        return forecasting_services.fiscal_calendar().period_of(
            forecasting_services.local_today(), rules.PeriodKind.QUARTER
        )
    return forecasting_services.period_from_label(period_label)
