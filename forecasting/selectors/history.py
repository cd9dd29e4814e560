"""The forecast from history: win probabilities per stage and age bucket counted from the
organisation's own deals, applied to the open pipeline of a period."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from forecasting import computations as history_computations
from forecasting import freshness, rules
from forecasting import services as forecasting_services
from forecasting.selectors.common import period_or_current
from forecasting.selectors.snapshots import snapshot_scope
from pipeline.models import Opportunity
from salesops import organisation
from salesops.cleaning import clean_currency
from salesops.exceptions import ValidationFailed
from salesops.models import User

# --- forecast from history ---
# Win probabilities per stage and age bucket estimated from the organisation's own deals
# (the pipeline win rate), applied to the open pipeline of a period in the user's scope.
# The definitions are in forecasting.computations; here is the counting.

HISTORY_MATURITY_DAYS = 90  # a deal must have entered the stage at least this long ago …
HISTORY_LOOKBACK_DAYS = 365  # … and at most this much longer ago (90-455 days by default)

# The stages a forecast prices: every stage that is neither won nor lost.
HISTORY_STAGES_SQL = """
SELECT st.id, st.name, p.name, st."order", st.probability
FROM pipeline_stage st JOIN pipeline_pipeline p ON p.id = st.pipeline_id
WHERE NOT st.is_won AND NOT st.is_lost
"""

# Per (open stage, bucket lower bound): the deals that entered the stage in the window and
# stayed there at least that many days, and how many of them are won / lost now; plus a
# grand-total row (stage NULL) with the distinct deals and closed deals of the whole
# history. A stay runs from a stage row of the deal's history (field "stage", new_value =
# the stage id; the creation row too) to the deal's next stage row, or to now. A deal with
# no stage row at all (imported, or made before the history was kept) enters its current
# stage at stage_entered_at. A deal that entered a stage more than once counts once, from
# its first entry in the window, with its longest stay.
HISTORY_SQL = """
WITH stays AS (
    SELECT c.opportunity_id AS opp, c.new_value::bigint AS stage_id, c.changed_at AS entered,
           COALESCE(lead(c.changed_at) OVER (PARTITION BY c.opportunity_id
                                             ORDER BY c.changed_at, c.id),
                    %(as_of)s) AS until
    FROM pipeline_opportunitychange c
    WHERE c.field = 'stage' AND c.new_value ~ '^[0-9]{1,18}$' AND c.changed_at >= %(start)s
    UNION ALL
    SELECT o.id, o.stage_id, o.stage_entered_at, %(as_of)s
    FROM pipeline_opportunity o
    WHERE o.stage_entered_at >= %(start)s AND o.stage_entered_at < %(end)s
      AND NOT EXISTS (SELECT 1 FROM pipeline_opportunitychange c
                      WHERE c.opportunity_id = o.id AND c.field = 'stage')
),
per_deal AS (
    SELECT opp, stage_id, min(entered) AS first_entered,
           max(floor(extract(epoch FROM until - entered) / 86400))::int AS days
    FROM stays GROUP BY opp, stage_id
)
SELECT d.stage_id, b.lower, count(DISTINCT d.opp),
       count(DISTINCT d.opp) FILTER (WHERE o.status = 'won'),
       count(DISTINCT d.opp) FILTER (WHERE o.status = 'lost'),
       count(DISTINCT d.opp) FILTER (WHERE o.status <> 'open')
FROM per_deal d
JOIN pipeline_stage st ON st.id = d.stage_id AND NOT st.is_won AND NOT st.is_lost
JOIN pipeline_opportunity o ON o.id = d.opp
JOIN unnest(%(lowers)s::int[]) AS b(lower) ON GREATEST(d.days, 0) >= b.lower
WHERE d.first_entered >= %(start)s AND d.first_entered < %(end)s
GROUP BY GROUPING SETS ((d.stage_id, b.lower), ())
"""

# The period's open pipeline in the scope, in one currency, per stage and age bucket (the
# days since the deal entered its current stage). Omitted deals count nowhere, as in the
# weighted pipeline of the forecast summary.
HISTORY_OPEN_SQL = """
SELECT x.stage_id,
       (%(lowers)s::int[])[width_bucket(GREATEST(x.days, 0), %(lowers)s::int[])],
       count(*), sum(x.amount)
FROM (
    SELECT o.stage_id, o.amount, o.owner_id, u.team_id,
           floor(extract(epoch FROM %(now)s - o.stage_entered_at) / 86400)::int AS days
    FROM pipeline_opportunity o JOIN salesops_user u ON u.id = o.owner_id
    WHERE o.status = 'open' AND o.close_date >= %(p_start)s AND o.close_date < %(p_end)s
      AND o.currency = %(currency)s AND o.forecast_category <> 'omitted'
) x
WHERE {scope_x}
GROUP BY 1, 2
"""


def history_window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The window of stage entries the history counts, as of the organisation's midnight
    of `now`'s day: the history is a daily figure, the same all day."""
    as_of = organisation.current().start_of(forecasting_services.local_today(now))
    end = as_of - dt.timedelta(days=HISTORY_MATURITY_DAYS)
    return end - dt.timedelta(days=HISTORY_LOOKBACK_DAYS), end


def history_generation() -> tuple[int | None, int | None]:
    """What the daily history figures are cached under besides the day: the newest deal and
    the newest stage (two index lookups). Deals imported or a demo reset today, or a
    pipeline set up anew, are in the figures at once — the cells are keyed by stage id,
    so cached ones would otherwise match no stage for the rest of the day. Other changes
    (a deal won today) reach them tomorrow, as a daily figure should."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT max(id) FROM pipeline_opportunity),"
            " (SELECT max(id) FROM pipeline_stage)"
        )
        newest_deal, newest_stage = cursor.fetchone()
    return newest_deal, newest_stage


def history_rates(now: dt.datetime | None = None) -> list[tuple]:
    """HISTORY_SQL's rows for `now`'s day (default today): one aggregate over a year of
    the whole organisation's stage history (~40 s at 1M deals), so cached for the day and
    computed ahead by the nightly beat job (forecasting.warm_history_rates)."""
    now = now or timezone.now()
    start, end = history_window(now)
    as_of = end + dt.timedelta(days=HISTORY_MATURITY_DAYS)
    params: dict[str, Any] = {
        "as_of": as_of,
        "start": start,
        "end": end,
        "lowers": list(history_computations.BUCKET_LOWERS),
    }

    def count() -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(HISTORY_SQL, params)
            return cursor.fetchall()

    key = (as_of.isoformat(), HISTORY_MATURITY_DAYS, HISTORY_LOOKBACK_DAYS)
    return freshness.cached_daily("history-rates", key, count, generation=history_generation)


def imported_without_stages(now: dt.datetime | None = None) -> int:
    """Deals the history would count if their stages were known: imported from a CRM export
    that had no stage history, closed before the import, open at some moment of the
    history window. They are left out of the win rates (which count stage entries), and
    the forecast says on how many deals it rests without them. A daily figure, cached
    like history_rates."""
    now = now or timezone.now()
    start, end = history_window(now)

    def count() -> int:
        return Opportunity.objects.filter(
            imported_at__isnull=False,
            closed_at__isnull=False,
            closed_at__lte=F("imported_at"),
            closed_at__gte=start,
            created_at__lt=end,
        ).count()

    key = (start.isoformat(), end.isoformat())
    return freshness.cached_daily("history-imported", key, count, generation=history_generation)


@dataclass(frozen=True)
class HistoryCell:
    """One age bucket of a stage: the open deals in it, the probability used and the
    history behind it (deals that reached this age in the stage, won, closed)."""

    bucket: str
    open_deals: int
    open_amount: Decimal
    probability: Decimal  # 0-1
    source: str  # "history" or "stage default"
    history_deals: int
    history_won: int
    history_closed: int
    expected: Decimal


@dataclass(frozen=True)
class HistoryStage:
    stage_id: int
    stage_name: str
    pipeline_name: str
    stage_probability: int  # the configured one, %
    open_deals: int
    open_amount: Decimal
    expected: Decimal
    stage_default_expected: Decimal
    history_deals: int  # every deal that was in the stage in the window
    history_won: int
    history_closed: int
    cells: list[HistoryCell]


@dataclass(frozen=True)
class HistoryForecast:
    period: rules.Period
    currency: str
    team_id: int | None
    owner_id: int | None
    window_start: dt.datetime  # deals that entered a stage from this moment …
    window_end: dt.datetime  # … up to (not including) this one are the history
    min_deals: int
    history_deals: int  # distinct deals of the whole history (every open stage)
    history_closed: int  # … of which won or lost by now
    # Closed deals of the window imported without their stages: not in the win rates.
    imported_without_stages: int
    open_deals: int
    open_amount: Decimal
    expected: Decimal
    stage_default_expected: Decimal  # Σ amount × stage probability, for comparison
    by_stage: list[HistoryStage]


def history_forecast(
    user: User,
    period_label: Any = None,
    team_id: Any = None,
    owner_id: Any = None,
    *,
    currency: Any = None,
    now: dt.datetime | None = None,
) -> HistoryForecast:
    """The expected closed amount of the open pipeline of `period_label` (default: the
    current quarter) priced with win probabilities from history, per stage and age bucket
    (see forecasting.computations for the definitions).

    History: the organisation's deals — all of them, whoever owns them, as it is an
    aggregate of counts and exposes no deal — that entered a stage from
    HISTORY_MATURITY_DAYS + HISTORY_LOOKBACK_DAYS days ago up to HISTORY_MATURITY_DAYS days
    ago (so a deal had time to be decided; one still open counts as not won). A cell with
    fewer than settings.HISTORY_MIN_DEALS deals falls back to the stage's probability.

    Open pipeline: open deals with close_date in the period, in one currency (`currency`,
    default the organisation's), Omitted left out, in `user`'s scope as
    snapshot_scope decides it on the deal's owner now and the owner's team now: a rep
    their own deals, a manager their teams' (sub-teams included) and their own, a leader
    all, narrowed to `team_id` (with sub-teams) and/or `owner_id`. A team or person
    outside the scope is a 404; a bad period or currency is a ValidationFailed.

    Queries: up to three to check the scope, the stages, one aggregate of the history,
    one count of the deals imported without stage history, one aggregate of the open
    pipeline — seven at most, however many deals (the two history figures are cached for
    the day)."""
    period = period_or_current(period_label)
    errors: dict[str, list[str]] = {}
    code = clean_currency(errors, currency or organisation.current().default_currency)
    if errors:
        raise ValidationFailed(details=errors)
    scope = snapshot_scope(user, team_id, owner_id)
    now = now or timezone.now()
    window_start, window_end = history_window(now)
    params = {
        **scope.params(),
        "now": now,
        "lowers": list(history_computations.BUCKET_LOWERS),
        "p_start": period.start,
        "p_end": period.end,
        "currency": code,
    }
    with connection.cursor() as cursor:
        cursor.execute(HISTORY_STAGES_SQL)
        stages = pd.DataFrame(cursor.fetchall(), columns=history_computations.STAGE_COLUMNS)
        history_rows = history_rates(now)
        cursor.execute(HISTORY_OPEN_SQL.format(scope_x=scope.sql("x")), params)
        open_rows = cursor.fetchall()
    total_deals = total_closed = 0
    cell_rows = []
    for stage_id, lower, deals, won, lost, closed in history_rows:
        if stage_id is None:  # the grand total of GROUPING SETS
            total_deals, total_closed = deals, closed
        else:
            cell_rows.append((stage_id, lower, deals, won, lost))
    rates = history_computations.win_probabilities(
        stages,
        pd.DataFrame(cell_rows, columns=history_computations.HISTORY_COLUMNS),
        settings.HISTORY_MIN_DEALS,
    )
    cells = history_computations.expected_by_cell(
        rates, pd.DataFrame(open_rows, columns=history_computations.OPEN_COLUMNS)
    )
    by_stage = [
        HistoryStage(
            stage_id=int(row.stage_id),
            stage_name=row.stage_name,
            pipeline_name=row.pipeline_name,
            stage_probability=int(row.stage_probability),
            open_deals=row.open_deals,
            open_amount=row.open_amount,
            expected=row.expected,
            stage_default_expected=row.stage_default_expected,
            history_deals=row.history_deals,
            history_won=row.history_won,
            history_closed=row.history_closed,
            cells=[
                HistoryCell(
                    bucket=c.bucket,
                    open_deals=int(c.open_deals),
                    open_amount=c.open_amount,
                    probability=c.probability,
                    source=c.source,
                    history_deals=int(c.deals),
                    history_won=int(c.won),
                    history_closed=int(c.closed),
                    expected=c.expected,
                )
                for c in cells[cells["stage_id"] == row.stage_id]
                .sort_values("bucket_lower")
                .itertuples(index=False)
            ],
        )
        for row in history_computations.by_stage(cells).itertuples(index=False)
    ]
    zero = Decimal("0.00")
    return HistoryForecast(
        period=period,
        currency=code,
        team_id=None if team_id in (None, "") else int(team_id),
        owner_id=scope.owner,
        window_start=window_start,
        window_end=window_end,
        min_deals=settings.HISTORY_MIN_DEALS,
        history_deals=total_deals,
        history_closed=total_closed,
        imported_without_stages=imported_without_stages(now),
        open_deals=sum(s.open_deals for s in by_stage),
        open_amount=sum((s.open_amount for s in by_stage), zero),
        expected=sum((s.expected for s in by_stage), zero),
        stage_default_expected=sum((s.stage_default_expected for s in by_stage), zero),
        by_stage=by_stage,
    )
