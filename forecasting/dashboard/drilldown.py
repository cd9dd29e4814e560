"""The drill-down to the deals behind each of the dashboard's numbers.

The drill-down reads (`figure_deals`, `change_deals`, `snapshot_deals`) list the deals
behind one number with the SAME definition the number came from: the summary's figures
through selectors.summary_figure_deals (the filter forecast_summary sums), the changes
from selectors.week_over_week's own groups, the trend's points through the same snapshot
scope (SnapshotScope.sql) and filters as selectors.snapshot_trend. So a listed total
equals the number clicked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Sum

from forecasting import rules
from forecasting import selectors as forecast_selectors
from forecasting.dashboard.common import (
    CATEGORY_LABELS,
    CENT,
    CSV_MAX_ROWS,
    DEALS_PAGE_SIZE,
    FIGURE_TITLES,
    ZERO,
)
from pipeline.models import ForecastCategory, Opportunity, OpportunityStatus
from salesops import organisation
from salesops.cleaning import clean_currency
from salesops.exceptions import ValidationFailed
from salesops.models import Team, User


@dataclass(frozen=True)
class DealRow:
    """One deal behind a number. `amount` is what it adds to the number (its amount; its
    weighted amount for the weighted pipeline; the signed change for a week-over-week
    change); `amount_before` / `amount_after` only for a change."""

    opportunity_id: int
    name: str
    owner_id: int | None
    owner_name: str
    team_id: int | None
    team_name: str
    stage: str
    category: str
    status: str
    amount: Decimal
    currency: str
    close_date: dt.date | None
    amount_before: Decimal | None = None
    amount_after: Decimal | None = None


@dataclass(frozen=True)
class DealList:
    """The deals behind one number, one page of them, and their total (= the number)."""

    title: str
    what: str  # "figure", "change" or "snapshot"
    key: str  # the figure, change kind or category
    period: rules.Period
    currency: str
    team_id: int | None
    owner_id: int | None
    week: dt.date | None
    total: Decimal
    count: int
    rows: list[DealRow]
    page: int
    pages: int
    amount_label: str
    note: str = ""

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


STATUS_LABELS = dict(OpportunityStatus.choices)

SNAPSHOT_CATEGORIES = {
    **{c: label for c, label in ForecastCategory.choices},
    "open_pipeline": "Open pipeline (every category but Omitted)",
    "any": "Every deal of the snapshot",
}


def _page_number(page: Any, count: int, size: int) -> tuple[int, int]:
    """(page, pages): a page out of range or not a number is the nearest page (the first
    for junk), as a paginated link may outlive its data."""
    # Django's rule (Paginator.get_page) over the count alone: the rows are read by SQL.
    shown = Paginator(range(count), size).get_page(page)
    return shown.number, shown.paginator.num_pages


def _name(first: str | None, last: str | None, username: str | None) -> str:
    return f"{first or ''} {last or ''}".strip() or (username or "")


def figure_deals(
    user: User,
    figure: Any,
    period_label: Any = None,
    team_id: Any = None,
    owner_id: Any = None,
    *,
    page: Any = 1,
    page_size: int | None = DEALS_PAGE_SIZE,
) -> DealList:
    """The deals behind a figure of the forecast summary for the scope (the same
    definition and checks: selectors.summary_figure_deals), largest first, one page
    (`page_size` None: all, up to CSV_MAX_ROWS). Their total is the figure
    (weighted_pipeline: Σ amount × probability ÷ 100, to the cent, as the summary).
    Queries: the scope's (1-2), the count and total (1), the page (1)."""
    period, code, scope, deals = forecast_selectors.summary_figure_deals(
        user,
        figure,
        period_label,
        team_id,
        owner_id,
        currency=organisation.current().default_currency,
    )
    weighted = figure == "weighted_pipeline"
    totals = deals.aggregate(
        n=Count("id"),
        total=Sum(forecast_selectors.WEIGHTED_RAW if weighted else "amount"),
    )
    count = totals["n"]
    total = totals["total"] or ZERO
    if weighted:
        total = (total / 100).quantize(CENT, ROUND_HALF_UP)
    size = page_size or CSV_MAX_ROWS
    number, pages = _page_number(page, count, size) if page_size else (1, 1)
    listed = (
        deals.select_related("owner__team", "stage")
        .only(
            "id", "name", "amount", "currency", "close_date", "status", "forecast_category",
            "owner__first_name", "owner__last_name", "owner__username", "owner__team__name",
            "stage__name", "stage__probability",
        )
        .order_by("-amount", "id")[(number - 1) * size : number * size]
    )  # fmt: skip
    rows = []
    for o in listed:
        amount = o.amount
        if weighted:
            amount = (o.amount * o.stage.probability / 100).quantize(CENT, ROUND_HALF_UP)
        team = o.owner.team
        rows.append(
            DealRow(
                opportunity_id=o.pk,
                name=o.name,
                owner_id=o.owner_id,
                owner_name=str(o.owner),
                team_id=team.pk if team else None,
                team_name=team.name if team else "",
                stage=o.stage.name,
                category=o.get_forecast_category_display(),
                status=o.get_status_display(),
                amount=amount,
                currency=o.currency,
                close_date=o.close_date,
            )
        )
    scope_name = _scope_name(scope.team_names, scope.picked_team, scope.picked_owner, rows)
    return DealList(
        title=f"{FIGURE_TITLES[figure]} · {period.label}{scope_name}",
        what="figure",
        key=figure,
        period=period,
        currency=code,
        team_id=scope.picked_team,
        owner_id=scope.picked_owner,
        week=None,
        total=total,
        count=count,
        rows=rows,
        page=number,
        pages=pages,
        amount_label="Weighted amount" if weighted else "Amount",
        note=(
            "Each deal's weighted amount is its amount × its stage's probability, to the "
            "cent; the total is rounded once, so it may differ from the sum of the rows by "
            "a few cents."
            if weighted
            else ""
        ),
    )


def _team_label(team_id: Any) -> str:
    """ " · <team name>" for a team already checked to be in scope (one query); "" for none."""
    if team_id in (None, ""):
        return ""
    name = Team.objects.filter(pk=int(team_id)).values_list("name", flat=True).first()
    return f" · {name}" if name else ""


def _scope_name(
    team_names: dict[int, str], team: int | None, owner: int | None, rows: list[DealRow]
) -> str:
    if owner is not None:
        name = next((r.owner_name for r in rows if r.owner_id == owner), "")
        return f" · {name}" if name else " · one person"
    if team is not None:
        return f" · {team_names.get(team, '')}"
    return ""


def change_deals(
    user: User,
    change: Any,
    period_label: Any = None,
    week: Any = None,
    team_id: Any = None,
    owner_id: Any = None,
    *,
    page: Any = 1,
    page_size: int | None = DEALS_PAGE_SIZE,
) -> DealList:
    """The deals behind one week-over-week change kind (selectors.week_over_week's own
    group, so the same definition), in the dashboard's currency, largest change first. The
    total is the group's delta; week_over_week lists at most CHANGE_ITEMS_PER_KIND deals a
    kind, so beyond that the page says how many are not listed. A bad change kind or week
    is a ValidationFailed; outside the scope a 404. Queries: week_over_week's (up to 6)
    and the deals' owners, teams and stages (1)."""
    kinds = {c.value for c in rules.Change}
    if change not in kinds:
        raise ValidationFailed(
            details={"change": [f"Pick a change: {', '.join(c.value for c in rules.Change)}."]}
        )
    code = organisation.current().default_currency
    result = forecast_selectors.week_over_week(user, period_label, week, team_id, owner_id)
    group = next(g for g in result.changes if g.kind.value == change)
    items = [item for item in group.items if item.currency == code]
    size = page_size or CSV_MAX_ROWS
    number, pages = _page_number(page, len(items), size) if page_size else (1, 1)
    shown = items[(number - 1) * size : number * size]
    deals = {
        o.pk: o
        for o in Opportunity.objects.filter(pk__in=[i.opportunity_id for i in shown])
        .select_related("owner__team", "stage")
        .only(
            "id", "status", "forecast_category", "owner__first_name", "owner__last_name",
            "owner__username", "owner__team__name", "stage__name",
        )
    }  # fmt: skip
    rows = []
    for item in shown:
        o = deals.get(item.opportunity_id)
        team = o.owner.team if o else None
        rows.append(
            DealRow(
                opportunity_id=item.opportunity_id,
                name=item.name,
                owner_id=o.owner_id if o else None,
                owner_name=str(o.owner) if o else "",
                team_id=team.pk if team else None,
                team_name=team.name if team else "",
                stage=o.stage.name if o else "",
                category=o.get_forecast_category_display() if o else "",
                status=o.get_status_display() if o else "",
                amount=item.delta,
                currency=item.currency,
                close_date=item.close_date_after or item.close_date_before,
                amount_before=item.amount_before,
                amount_after=item.amount_after,
            )
        )
    total = group.deltas.get(code, ZERO)
    count_in_code = len(items)
    note = ""
    if group.truncated:
        note = (
            f"{group.count} deals changed; the {len(group.items)} largest changes are listed "
            f"(all currencies), so the rows add up to less than the total."
        )
    team_label = _team_label(team_id)
    return DealList(
        title=(
            f"{rules.CHANGE_LABELS[rules.Change(change)]} · week of {result.week:%-d %b %Y}"
            f" · {result.period.label}{team_label}"
        ),
        what="change",
        key=change,
        period=result.period,
        currency=code,
        team_id=int(team_id) if team_id not in (None, "") else None,
        owner_id=int(owner_id) if owner_id not in (None, "") else None,
        week=result.week,
        total=total,
        count=count_in_code,
        rows=rows,
        page=number,
        pages=pages,
        amount_label="Change",
        note=note
        or (
            ""
            if result.available
            else "There is no snapshot of this week or the week before: nothing to compare."
        ),
    )


# The snapshot rows of one week behind a trend point (or a week's total), in the scope and
# with the filters of snapshot_trend / week_over_week's totals: close date in the period,
# {scope_s} = SnapshotScope.sql("s"), one currency, and {category_s} (a fixed fragment).
SNAPSHOT_TOTAL_SQL = """
SELECT count(*), sum(s.amount)
FROM forecasting_pipelinesnapshot s
WHERE s.week = %(week)s AND s.close_date >= %(start)s AND s.close_date < %(end)s
  AND s.currency = %(currency)s AND {category_s} AND {scope_s}
"""
SNAPSHOT_ROWS_SQL = """
SELECT s.opportunity_id, o.name, s.owner_id, u.first_name, u.last_name, u.username,
       s.team_id, t.name, st.name, s.forecast_category, s.status, s.amount, s.currency,
       s.close_date
FROM forecasting_pipelinesnapshot s
JOIN pipeline_opportunity o ON o.id = s.opportunity_id
JOIN pipeline_stage st ON st.id = s.stage_id
LEFT JOIN salesops_user u ON u.id = s.owner_id
LEFT JOIN salesops_team t ON t.id = s.team_id
WHERE s.week = %(week)s AND s.close_date >= %(start)s AND s.close_date < %(end)s
  AND s.currency = %(currency)s AND {category_s} AND {scope_s}
ORDER BY s.amount DESC, s.opportunity_id
LIMIT %(limit)s OFFSET %(offset)s
"""


def _snapshot_week(week: Any) -> dt.date:
    if week in (None, ""):
        raise ValidationFailed(details={"week": ["Say which week's snapshot (YYYY-MM-DD)."]})
    text = str(week)
    try:
        day = dt.date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise ValidationFailed(details={"week": ["Enter a date as YYYY-MM-DD (a Monday)."]})
    if day.weekday() != 0:
        raise ValidationFailed(
            details={"week": [f"A week starts on a Monday: {rules.week_start(day)}, not {day}."]}
        )
    return day


def snapshot_deals(
    user: User,
    category: Any,
    week: Any,
    period_label: Any = None,
    team_id: Any = None,
    owner_id: Any = None,
    *,
    page: Any = 1,
    page_size: int | None = DEALS_PAGE_SIZE,
) -> DealList:
    """The rows of `week`'s pipeline snapshot behind a trend point: deals closing in the
    period, in the scope as snapshot_trend sees it (owner and team that week), of one
    forecast `category` ("open_pipeline": every category but Omitted — the trend's total;
    "any": every row — week-over-week's opening and closing totals), in the dashboard's
    currency, largest first. Owner, team, stage and amount as the snapshot recorded them.
    A bad category or week is a ValidationFailed; outside the scope a 404. Queries: the
    scope's (up to 3), the total (1), the page (1)."""
    if category not in SNAPSHOT_CATEGORIES:
        raise ValidationFailed(
            details={"category": [f"Pick a category: {', '.join(SNAPSHOT_CATEGORIES)}."]}
        )
    the_week = _snapshot_week(week)
    period = forecast_selectors.period_or_current(period_label)
    errors: dict[str, list[str]] = {}
    code = clean_currency(errors, organisation.current().default_currency)
    scope = forecast_selectors.snapshot_scope(user, team_id, owner_id)
    if category == "any":
        category_s = "TRUE"
    elif category == "open_pipeline":
        category_s = "s.forecast_category <> 'omitted'"
    else:
        category_s = "s.forecast_category = %(category)s"
    params = {
        **scope.params(),
        "week": the_week,
        "start": period.start,
        "end": period.end,
        "currency": code,
        "category": category,
    }
    fragments = {"category_s": category_s, "scope_s": scope.sql("s")}
    with connection.cursor() as cursor:
        cursor.execute(SNAPSHOT_TOTAL_SQL.format(**fragments), params)
        count, total = cursor.fetchone()
        size = page_size or CSV_MAX_ROWS
        number, pages = _page_number(page, count, size) if page_size else (1, 1)
        cursor.execute(
            SNAPSHOT_ROWS_SQL.format(**fragments),
            params | {"limit": size, "offset": (number - 1) * size},
        )
        fetched = cursor.fetchall()
    rows = [
        DealRow(
            opportunity_id=pk,
            name=name,
            owner_id=owner,
            owner_name=_name(first, last, username),
            team_id=team,
            team_name=team_name or "",
            stage=stage,
            category=CATEGORY_LABELS.get(cat, cat),
            status=STATUS_LABELS.get(status, status),
            amount=amount,
            currency=currency,
            close_date=close,
        )
        for (
            pk, name, owner, first, last, username, team, team_name, stage, cat, status,
            amount, currency, close,
        ) in fetched
    ]  # fmt: skip
    return DealList(
        title=(
            f"{SNAPSHOT_CATEGORIES[category]} · snapshot of {the_week:%-d %b %Y}"
            f" · {period.label}{_team_label(team_id)}"
        ),
        what="snapshot",
        key=category,
        period=period,
        currency=code,
        team_id=int(team_id) if team_id not in (None, "") else None,
        owner_id=scope.owner,
        week=the_week,
        total=total or ZERO,
        count=count,
        rows=rows,
        page=number,
        pages=pages,
        amount_label="Amount (that week)",
        note="Owner, team, stage and amount as the snapshot recorded them that week.",
    )
