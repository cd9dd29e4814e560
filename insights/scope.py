"""What a study looks at — a date range, the people in it, the currency of its amounts —
parsed once at the edge (pages and API share `scope_from_query`) and checked against what
the reader may see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from salesops import access, organisation
from salesops.cleaning import clean_currency, clean_date, clean_int, query_int
from salesops.exceptions import NotFound, PermissionDenied, ValidationFailed
from salesops.models import Role, Team, User

# The longest range a study reads: beyond it the figures mix eras and the queries grow.
MAX_RANGE_DAYS = 3 * 366


@dataclass(frozen=True)
class Scope:
    start: dt.date  # first day, in the organisation's time zone
    end: dt.date  # last day, included
    team_id: int | None  # None: everyone the reader may see
    owner_ids: tuple[int, ...]  # the people whose deals count, sorted
    currency: str  # amounts are summed in this currency only
    min_closed: int  # a rep needs this many closed deals to be ranked
    owner_id: int | None = None  # one person asked for

    @property
    def starts_at(self) -> dt.datetime:
        return organisation.current().start_of(self.start)

    @property
    def ends_before(self) -> dt.datetime:
        return organisation.current().start_of(self.end + dt.timedelta(days=1))

    @property
    def months(self) -> float:
        """The range's length in months (30.44 days each), for per-month rates."""
        return ((self.end - self.start).days + 1) / 30.4375

    def cache_parts(self) -> tuple[Any, ...]:
        return (self.start, self.end, self.team_id, self.owner_ids, self.currency, self.min_closed)


def default_range(today: dt.date) -> tuple[dt.date, dt.date]:
    """The twelve months up to today: long enough for closed deals to say something."""
    return today.replace(year=today.year - 1) + dt.timedelta(days=1), today


def can_study_others(user: User) -> bool:
    """Managers (for their teams), leaders and admins study the top performers; a rep sees
    only their own results."""
    return user.is_authenticated and user.role in (Role.MANAGER, Role.LEADER, Role.ADMIN)


def scope_for(
    user: User,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    team_id: int | None = None,
    owner_id: int | None = None,
    currency: str | None = None,
    min_closed: int | None = None,
) -> Scope:
    """The scope `user` asked for: everyone they see, or a team (with its sub-teams), or
    one person (`owner_id`: their results and stage flow). Refuses (ValidationFailed) an
    end before the start or a range over MAX_RANGE_DAYS; a team or person the user cannot
    see is a 404. A rep's scope is themselves."""
    org = organisation.current()
    default_start, default_end = default_range(org.today())
    start = start or (default_start if end is None else end - dt.timedelta(days=364))
    end = end or max(start, default_end)
    errors: dict[str, list[str]] = {}
    if end < start:
        errors["end"] = ["The end comes before the start."]
    elif (end - start).days + 1 > MAX_RANGE_DAYS:
        errors["end"] = [f"Choose a range of at most {MAX_RANGE_DAYS} days."]
    if errors:
        raise ValidationFailed(details=errors)
    people = User.objects.filter(access.visible_users_q(user))
    if team_id is not None:
        if user.role == Role.REP:
            raise NotFound("No such team.")
        visible_teams = (
            {t for t in Team.objects.values_list("id", flat=True)}
            if user.sees_everything
            else access.managed_team_ids(user)
        )
        if team_id not in visible_teams:
            raise NotFound("No such team.")
        people = people.filter(team_id__in=access.team_subtree(team_id))
    if owner_id is not None:
        people = people.filter(pk=owner_id)
    owner_ids = tuple(sorted(people.values_list("id", flat=True)))
    if owner_id is not None and not owner_ids:
        raise NotFound("No such person.")
    return Scope(
        start=start,
        end=end,
        team_id=team_id,
        owner_ids=owner_ids,
        currency=currency or org.default_currency,
        min_closed=settings.INSIGHTS_MIN_CLOSED_DEALS if min_closed is None else min_closed,
        owner_id=owner_id,
    )


def company_scope() -> Scope:
    """Everyone's deals over the default range: the study behind the suggestions."""
    org = organisation.current()
    start, end = default_range(org.today())
    return Scope(
        start=start,
        end=end,
        team_id=None,
        owner_ids=tuple(sorted(User.objects.values_list("id", flat=True))),
        currency=org.default_currency,
        min_closed=settings.INSIGHTS_MIN_CLOSED_DEALS,
    )


def scope_from_query(user: User, query: Mapping[str, Any]) -> Scope:
    """`scope_for` from a query string (start, end, team, currency, min_closed); a bad value
    is a ValidationFailed naming the parameter."""
    errors: dict[str, list[str]] = {}
    start = clean_date(errors, "start", query.get("start") or None, required=False)
    end = clean_date(errors, "end", query.get("end") or None, required=False)
    team_id = owner_id = None
    if query.get("team"):
        team_id = query_int(query.get("team"))
        if team_id is None:
            errors["team"] = ["Give a team id."]
    if query.get("owner"):
        owner_id = query_int(query.get("owner"))
        if owner_id is None:
            errors["owner"] = ["Give a person's id."]
    currency = None
    if query.get("currency"):
        currency = clean_currency(errors, str(query.get("currency")).upper())
    min_closed = clean_int(
        errors, "min_closed", query.get("min_closed"), required=False, minimum=1, maximum=1000
    )
    if errors:
        raise ValidationFailed(details=errors)
    return scope_for(
        user,
        start=start,
        end=end,
        team_id=team_id,
        owner_id=owner_id,
        currency=currency,
        min_closed=min_closed,
    )


def refuse_unless_studying(user: User) -> None:
    if not can_study_others(user):
        raise PermissionDenied("Top performers are studied by managers, leaders and admins.")
