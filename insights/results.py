"""Results per rep, team, product, industry or account size for a scope: what was created,
closed, won and lost, win rates, deal sizes, sales cycles and attainment — and the stage
flow (conversion and days in each stage) where stage history exists.

All aggregation is one SQL statement per table (GROUPING SETS add the total row). Deals
count by their own dates: created in the range, closed in the range. Imported history
(status, amount and dates, no stage history) counts fully here; only its stage entries
before the import are unknown and left out of the stage flow."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection

from forecasting import selectors as forecasting_selectors
from insights import facts, stats
from insights.scope import Scope
from pipeline import selectors as pipeline_selectors
from salesops.models import Team, User

GROUPINGS = ("rep", "team", "product", "industry", "size")

# Account size by employees: the usual segments of a B2B sales team.
SIZE_BANDS = (
    (1, 49, "1–49 employees"),
    (50, 249, "50–249 employees"),
    (250, 999, "250–999 employees"),
    (1000, None, "1,000+ employees"),
)

_SIZE_SQL = (
    "CASE "
    + " ".join(
        f"WHEN a.employees >= {low}"
        + (f" AND a.employees <= {high}" if high else "")
        + f" THEN {i}"
        for i, (low, high, _) in enumerate(SIZE_BANDS)
    )
    + " END"
)

_KEYS = {
    "rep": "o.owner_id::text",
    "team": "u.team_id::text",
    "product": "o.product_id::text",
    "industry": "NULLIF(btrim(a.industry), '')",
    "size": f"({_SIZE_SQL})::text",
}

# The owners are a semi-join (not `= ANY(array)`): for a whole company's few hundred owners
# the planner then hashes them beside a sequential scan of the deals instead of reading them
# through the owner index one owner at a time (2–3 s at 1M deals, bench/README.md); for a
# team's few it still probes the index.
_RESULTS_SQL = """
WITH deals AS (
    SELECT {key} AS key, o.status, o.amount, o.currency,
           o.created_at >= %(start)s AND o.created_at < %(end)s AS created_in,
           o.closed_at >= %(start)s AND o.closed_at < %(end)s AS closed_in,
           EXTRACT(EPOCH FROM (o.closed_at - o.created_at)) / 86400.0 AS cycle_days
      FROM pipeline_opportunity o
      JOIN pipeline_account a ON a.id = o.account_id
      JOIN salesops_user u ON u.id = o.owner_id
     WHERE o.owner_id IN (SELECT unnest(%(owners)s::bigint[]))
       AND ((o.created_at >= %(start)s AND o.created_at < %(end)s)
            OR (o.closed_at >= %(start)s AND o.closed_at < %(end)s))
)
SELECT key, GROUPING(key) AS is_total,
       count(*) FILTER (WHERE created_in) AS created,
       count(*) FILTER (WHERE closed_in AND status IN ('won', 'lost')) AS closed,
       count(*) FILTER (WHERE closed_in AND status = 'won') AS won,
       count(*) FILTER (WHERE closed_in AND status = 'lost') AS lost,
       count(*) FILTER (WHERE closed_in AND status = 'won' AND currency = %(currency)s)
           AS won_in_currency,
       coalesce(sum(amount) FILTER (
           WHERE closed_in AND status = 'won' AND currency = %(currency)s), 0) AS won_amount,
       avg(amount) FILTER (WHERE closed_in AND status = 'won' AND currency = %(currency)s)
           AS avg_won,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY amount) FILTER (
           WHERE closed_in AND status = 'won' AND currency = %(currency)s) AS median_won,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY cycle_days) FILTER (
           WHERE closed_in AND status = 'won') AS cycle_won_median,
       avg(cycle_days) FILTER (WHERE closed_in AND status = 'won') AS cycle_won_mean,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY cycle_days) FILTER (
           WHERE closed_in AND status = 'lost') AS cycle_lost_median,
       avg(cycle_days) FILTER (WHERE closed_in AND status = 'lost') AS cycle_lost_mean
  FROM deals
 GROUP BY GROUPING SETS ((key), ())
"""


@dataclass(frozen=True)
class ResultRow:
    """One row of the results table (a rep, a team, a product, an industry, a size band, or
    the total). Amounts are in the scope's currency; counts include every currency."""

    key: str  # "" for the total and for deals without a value (no product, no industry…)
    label: str
    created: int
    closed: int
    won: int
    lost: int
    won_amount: Decimal
    avg_won: Decimal | None
    median_won: Decimal | None
    cycle_won_median: float | None
    cycle_won_mean: float | None
    cycle_lost_median: float | None
    cycle_lost_mean: float | None
    won_in_other_currencies: int = 0
    quota: Decimal | None = None
    is_total: bool = False

    @property
    def win_rate(self) -> float | None:
        return self.won / self.closed if self.closed else None

    @property
    def win_rate_interval(self) -> stats.Interval | None:
        return stats.wilson_interval(self.won, self.closed) if self.closed else None

    @property
    def attainment(self) -> float | None:
        return float(self.won_amount / self.quota) if self.quota else None


@dataclass(frozen=True)
class Results:
    scope: Scope
    group_by: str
    rows: list[ResultRow]
    total: ResultRow
    stage_flow: list[StageFlowRow] = field(default_factory=list)


def _money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal("0.01"))


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _labels(group_by: str, keys: list[str]) -> dict[str, str]:
    ids = [int(k) for k in keys if k and k.isdigit()]
    if group_by == "rep":
        return {str(u.pk): str(u) for u in User.objects.filter(pk__in=ids)}
    if group_by == "team":
        return {
            str(pk): name for pk, name in Team.objects.filter(pk__in=ids).values_list("id", "name")
        }
    if group_by == "product":
        return {str(pk): name for pk, name in pipeline_selectors.product_names(ids).items()}
    if group_by == "size":
        return {str(i): label for i, (_, _, label) in enumerate(SIZE_BANDS)}
    return {k: k for k in keys if k}


_NO_VALUE = {
    "rep": "—",
    "team": "No team",
    "product": "No product",
    "industry": "Industry not known",
    "size": "Size not known",
}


def results(scope: Scope, *, group_by: str = "rep") -> Results:
    """The results table for `scope`, one row per `group_by` value (GROUPINGS) and the total.
    Rows are ordered by won amount, then win rate, then label."""
    if group_by not in GROUPINGS:
        raise ValueError(group_by)
    params: dict[str, Any] = {
        "owners": list(scope.owner_ids),
        "start": scope.starts_at,
        "end": scope.ends_before,
        "currency": scope.currency,
    }
    with connection.cursor() as cursor:
        cursor.execute(_RESULTS_SQL.format(key=_KEYS[group_by]), params)
        names = [c.name for c in cursor.description]
        fetched = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    keys = [r["key"] for r in fetched if not r["is_total"] and r["key"]]
    labels = _labels(group_by, keys)
    quotas: dict[int, Decimal] = {}
    if group_by in ("rep", "team"):
        quotas = forecasting_selectors.rep_quotas_within(
            scope.owner_ids, start=scope.start, end=scope.end, currency=scope.currency
        )
    team_of = (
        dict(User.objects.filter(pk__in=scope.owner_ids).values_list("id", "team_id"))
        if group_by == "team"
        else {}
    )

    def quota_for(key: str | None, is_total: bool) -> Decimal | None:
        if not quotas:
            return None
        if is_total:
            return sum(quotas.values(), Decimal("0"))
        if key is None:
            return None
        if group_by == "rep":
            return quotas.get(int(key))
        members = [rep for rep, team in team_of.items() if str(team) == key]
        found = [quotas[m] for m in members if m in quotas]
        return sum(found, Decimal("0")) if found else None

    rows: list[ResultRow] = []
    total: ResultRow | None = None
    for r in fetched:
        key = r["key"] or ""
        row = ResultRow(
            key="" if r["is_total"] else key,
            label="All" if r["is_total"] else labels.get(key, _NO_VALUE[group_by]),
            created=r["created"],
            closed=r["closed"],
            won=r["won"],
            lost=r["lost"],
            won_amount=_money(r["won_amount"]) or Decimal("0.00"),
            avg_won=_money(r["avg_won"]),
            median_won=_money(r["median_won"]),
            cycle_won_median=_float(r["cycle_won_median"]),
            cycle_won_mean=_float(r["cycle_won_mean"]),
            cycle_lost_median=_float(r["cycle_lost_median"]),
            cycle_lost_mean=_float(r["cycle_lost_mean"]),
            won_in_other_currencies=r["won"] - r["won_in_currency"],
            quota=quota_for(r["key"], bool(r["is_total"])),
            is_total=bool(r["is_total"]),
        )
        if row.is_total:
            total = row
        else:
            rows.append(row)
    if total is None:  # no deal at all: GROUPING SETS returns no total row either
        total = ResultRow(
            key="",
            label="All",
            created=0,
            closed=0,
            won=0,
            lost=0,
            won_amount=Decimal("0.00"),
            avg_won=None,
            median_won=None,
            cycle_won_median=None,
            cycle_won_mean=None,
            cycle_lost_median=None,
            cycle_lost_mean=None,
            quota=quota_for(None, True),
            is_total=True,
        )
    rows.sort(key=lambda r: (-r.won_amount, -(r.win_rate or 0), r.label.lower(), r.key))
    return Results(scope=scope, group_by=group_by, rows=rows, total=total)


# --- stage flow ----------------------------------------------------------------------

# The stays (insights.facts keeps them from each deal's stage history) of the deals created
# or closed in the range.
_FLOW_SQL = """
SELECT stage_id,
       count(*) AS entered,
       count(*) FILTER (WHERE outcome = 'advanced') AS advanced,
       count(*) FILTER (WHERE outcome = 'lost') AS lost,
       count(*) FILTER (WHERE outcome = 'in') AS still_in,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY days) FILTER (WHERE days IS NOT NULL)
           AS median_days
  FROM insights_stagestay
 WHERE owner_id IN (SELECT unnest(%(owners)s::bigint[])) {owner_filter}
   AND ((created_at >= %(start)s AND created_at < %(end)s)
        OR (closed_at >= %(start)s AND closed_at < %(end)s))
 GROUP BY stage_id
"""


@dataclass(frozen=True)
class StageFlowRow:
    """Deals that entered an open stage (with known history), and what they did next."""

    stage_id: int
    stage: str
    pipeline: str
    entered: int
    advanced: int  # to a later stage or won
    lost: int
    still_in: int
    median_days: float | None  # in the stage, for deals that left it

    @property
    def left(self) -> int:
        return self.entered - self.still_in

    @property
    def conversion(self) -> float | None:
        """Advanced ÷ entered — the pipeline rate: deals still in the stage count against
        it, as in the forecast's history (domain.md)."""
        return self.advanced / self.entered if self.entered else None


def stage_flow(scope: Scope, *, owner_id: int | None = None) -> list[StageFlowRow]:
    """Conversion and days in each open stage for the scope's deals (or one owner's),
    ordered by pipeline and stage order. Stages no deal entered are absent."""
    params: dict[str, Any] = {
        "owners": list(scope.owner_ids),
        "start": scope.starts_at,
        "end": scope.ends_before,
    }
    owner_filter = ""
    if owner_id is not None:
        owner_filter = "AND owner_id = %(owner)s"
        params["owner"] = owner_id
    facts.refresh()
    with connection.cursor() as cursor:
        cursor.execute(_FLOW_SQL.format(owner_filter=owner_filter), params)
        fetched = cursor.fetchall()
    stages = pipeline_selectors.stage_labels([row[0] for row in fetched])
    rows = [
        StageFlowRow(
            stage_id=stage_id,
            stage=stages[stage_id].name,
            pipeline=stages[stage_id].pipeline,
            entered=entered,
            advanced=advanced,
            lost=lost,
            still_in=still_in,
            median_days=_float(median),
        )
        for stage_id, entered, advanced, lost, still_in, median in fetched
        if stage_id in stages
    ]
    rows.sort(key=lambda r: (stages[r.stage_id].pipeline_order, stages[r.stage_id].order))
    return rows
