"""The rows of one week's pipeline snapshot in the user's scope (snapshot_rows_for)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from forecasting import rules
from forecasting import selectors as forecasting_selectors
from forecasting import services as forecasting_services
from forecasting.models import PipelineSnapshot
from salesops.models import User

# GET /api/v1/forecast/snapshots/: the rows of one week's pipeline snapshot in the user's
# scope (selectors.snapshot_scope: the row's owner and team THAT week).


@dataclass(frozen=True)
class SnapshotRows:
    week: dt.date | None  # the week read (None: no snapshot has been taken yet)
    rows: QuerySet[PipelineSnapshot]


def snapshot_rows_for(
    user: User,
    *,
    week: Any = None,
    team_id: Any = None,
    owner_id: Any = None,
    period: Any = None,
) -> SnapshotRows:
    """The rows of the pipeline snapshot of `week` (a Monday, not after the current week;
    default: the latest week with a snapshot) that `user` may see, narrowed to `team_id`
    (with sub-teams; the row's team that week) and/or `owner_id`, and to the deals whose
    close date lay in `period` (a label) that week. Ordered by opportunity id; with the
    opportunity, owner, team and stage joined.

    A team or person outside the scope is a 404; a bad week or period a ValidationFailed.
    Queries: up to three to check the scope, one for the default week; the rows are one
    more (plus the page count)."""
    the_week = forecasting_selectors.wow_week(week)
    the_period = None if period in (None, "") else forecasting_services.period_from_label(period)
    scope = forecasting_selectors.snapshot_scope(user, team_id, owner_id)
    if the_week is None:
        current = rules.week_start(forecasting_services.local_today())
        with connection.cursor() as cursor:
            cursor.execute(forecasting_selectors.LATEST_WEEK_SQL, [current])
            found = cursor.fetchone()
        the_week = found[0] if found else None
    if the_week is None:
        return SnapshotRows(week=None, rows=PipelineSnapshot.objects.none())
    rows = PipelineSnapshot.objects.filter(scope.q(), week=the_week)
    if the_period is not None:
        rows = rows.filter(close_date__gte=the_period.start, close_date__lt=the_period.end)
    rows = rows.select_related("opportunity", "owner", "team", "stage").only(
        "week",
        "amount",
        "currency",
        "close_date",
        "status",
        "forecast_category",
        "opportunity__name",
        "owner__first_name",
        "owner__last_name",
        "owner__username",
        "team__name",
        "stage__name",
    )
    return SnapshotRows(week=the_week, rows=rows.order_by("opportunity_id"))
