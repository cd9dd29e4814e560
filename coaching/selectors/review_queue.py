"""The review queue: the open deals a manager or leader should review, riskiest first,
ranked by the database with review_risk's score written as SQL (its Python twin is
coaching.rules.review_risk; tests/coaching/test_selectors_reviews.py checks they agree)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    F,
    OuterRef,
    QuerySet,
    Subquery,
)
from django.utils import timezone

from coaching import rules
from coaching.models import (
    OpportunityReview,
    ReviewStatus,
)
from coaching.selectors.skills import matrix_teams_for, picked_team
from pipeline import rules as pipeline_rules
from pipeline.models import (
    FlagSeverity,
    Opportunity,
    OpportunityFlag,
    OpportunityStatus,
    Qualification,
    QualificationElement,
    QualificationScore,
    Stage,
)
from salesops import access, organisation
from salesops.models import Team, User

# coaching.rules.review_risk's score, as SQL: the same inputs, the same constants (read from
# `rules` at call time), the same integer arithmetic — `int(ratio * 10)` on positive
# Decimals is the exact truncated quotient div(amount * 10, average); `//` on non-negative
# days is integer `/`. LEAST/GREATEST skip NULLs, so a NULL is never fed to them where
# Python would see None. tests/coaching/test_selectors_reviews.py checks the twins agree.
RISK_SCORE_SQL = """
    LEAST(%(flags_cap)s, %(critical)s * %(per_critical)s + %(warning)s * %(per_warning)s)
    + CASE WHEN %(latest)s IS NULL THEN %(not_qualified)s
           ELSE CASE WHEN %(invalidated_at)s IS NOT NULL
                       OR NOT %(now)s < %(assessed_at)s + interval '24 hours'
                                        * COALESCE(NULLIF(%(validity)s, 0), %(default_validity)s)
                     THEN %(stale)s ELSE 0 END
                + LEAST(%(weak_cap)s,
                        (%(weak_scores)s + GREATEST(0, %(elements)s - %(scored)s)) * %(per_weak)s)
      END
    + LEAST(%(value_cap)s,
            COALESCE(div(GREATEST(%(amount)s, 0) * 10, NULLIF(GREATEST(%(average)s, 0), 0)), 0)
      )::integer
    + COALESCE(%(age_points)s, %(never_reviewed)s)
"""
# Points for the time since a review, from the moment it ended, in calendar days of the
# organisation's timezone (timezone.localdate on both sides, as the Python path did).
REVIEW_AGE_SQL = "LEAST(%(cap)s, GREATEST(0, %(today)s - %(ended_on)s) / %(step)s)"


@dataclass(frozen=True)
class QueueRow:
    opportunity: Any
    risk: rules.ReviewRisk
    qualification_state: str
    last_review_at: Any
    open_review_id: int | None


@dataclass(frozen=True)
class ReviewQueue:
    rows: list[QueueRow]
    teams: list[Team]
    team: Team | None
    more: int  # ranked below the rows shown


# The queue shows the top of the ranking; the rest is counted, not listed.
REVIEW_QUEUE_SHOWN = 100


# The ranking: the deals of the scope (`scope`, compiled from the caller's queryset), each
# input counted once for the whole scope by GROUP BY and joined by hash, the team average
# as a window, the score (RISK_SCORE_SQL), riskiest first. Amounts in different currencies
# are never averaged together: a deal is weighed against its team's open deals in its own
# currency.
RANKING_SQL = """
SELECT s.id, s.team_average, COALESCE(f.critical, 0), COALESCE(f.warning, 0),
       COALESCE(sc.weak, 0), COALESCE(sc.scored, 0), COALESCE(el.elements, 0), rv.ended,
       %(risk_score)s AS risk_score, count(*) OVER () AS ranked_total
FROM (
    SELECT scope.*, avg(amount) OVER (PARTITION BY owner_team, currency) AS team_average
    FROM ({scope}) scope
) s
JOIN {stage_table} st ON st.id = s.stage_id
LEFT JOIN {qualification_table} q ON q.id = s.latest_qualification_id
LEFT JOIN (
    SELECT opportunity_id,
           count(*) FILTER (WHERE severity = %(critical)s) AS critical,
           count(*) FILTER (WHERE severity <> %(critical)s) AS warning
    FROM {flag_table} WHERE cleared_at IS NULL GROUP BY opportunity_id
) f ON f.opportunity_id = s.id
LEFT JOIN (
    SELECT qualification_id, count(*) FILTER (WHERE score < %(weak_below)s) AS weak,
           count(*) AS scored
    FROM {score_table}
    WHERE qualification_id IN (
        SELECT latest_qualification_id FROM {opportunity_table} WHERE status = %(open)s
    )
    GROUP BY qualification_id
) sc ON sc.qualification_id = s.latest_qualification_id
LEFT JOIN (
    SELECT framework_id, count(*) AS elements FROM {element_table} GROUP BY framework_id
) el ON el.framework_id = s.framework
LEFT JOIN (
    SELECT opportunity_id, max(COALESCE(completed_at, started_at)) AS ended
    FROM {review_table} GROUP BY opportunity_id
) rv ON rv.opportunity_id = s.id
ORDER BY risk_score DESC, s.amount DESC, s.id
"""
# What the ranking adds to each deal it returns, in the order of its columns.
RANKING_FIELDS = (
    "team_average",
    "critical_flags",
    "warning_flags",
    "weak_scores",
    "scored",
    "framework_elements",
    "last_review_at",
    "risk_score",
    "ranked_total",
)


def review_queue_ranked(
    qs: QuerySet[Any], *, now: dt.datetime, limit: int | None = None
) -> list[Any]:
    """Open deals `qs`, riskiest first, at most `limit` of them: each annotated with what
    the queue shows (RANKING_FIELDS), `risk_score` being review_risk's score computed by
    the database (RISK_SCORE_SQL) and `ranked_total` how many deals the ranking has. Two
    queries, however many deals: the ranking, then the deals it kept (with their owner,
    account, stage, qualification and open review).

    The ranking reads each input once for the whole scope rather than by subqueries run
    once per deal: at 60,000 open deals those took ~2 s of a leader's 2.4 s
    (bench/review_queue.py)."""
    sql, params = _ranking_sql(qs, now=now)
    if limit is not None:
        sql, params = f"{sql} LIMIT %s", [*params, limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ranking = cursor.fetchall()
    if not ranking:
        return []
    open_reviews = OpportunityReview.objects.filter(
        opportunity=OuterRef("pk"), status=ReviewStatus.OPEN
    ).order_by()
    deals = (
        Opportunity.objects.select_related("owner", "account", "stage", "latest_qualification")
        .annotate(open_review_id=Subquery(open_reviews.values("pk")[:1]))
        .in_bulk([row[0] for row in ranking])
    )
    ranked = []
    for deal_id, *values in ranking:
        deal = deals[deal_id]
        for name, value in zip(RANKING_FIELDS, values, strict=True):
            setattr(deal, name, value)
        ranked.append(deal)
    return ranked


def _ranking_sql(qs: QuerySet[Any], *, now: dt.datetime) -> tuple[str, list[Any]]:
    """RANKING_SQL over the deals of `qs`, with its parameters."""
    scope_sql, scope_params = (
        qs.order_by()
        .values(
            "id",
            "amount",
            "currency",
            "stage_id",
            "latest_qualification_id",
            framework=F("pipeline__framework_id"),
            owner_team=F("owner__team_id"),
        )
        .query.sql_with_params()
    )
    template = RANKING_SQL.format(
        scope=scope_sql.replace("%s", "%(scope)s"),
        flag_table=OpportunityFlag._meta.db_table,
        score_table=QualificationScore._meta.db_table,
        element_table=QualificationElement._meta.db_table,
        review_table=OpportunityReview._meta.db_table,
        stage_table=Stage._meta.db_table,
        opportunity_table=Opportunity._meta.db_table,
        qualification_table=Qualification._meta.db_table,
    )
    scope = iter(scope_params)
    return _fill(
        template,
        scope=lambda: next(scope),
        critical=FlagSeverity.CRITICAL,
        open=OpportunityStatus.OPEN,
        weak_below=rules.WEAK_BELOW,
        risk_score=_risk_score_sql(now),
    )


def _risk_score_sql(now: dt.datetime) -> tuple[str, list[Any]]:
    """RISK_SCORE_SQL over the ranking's columns, with its parameters (the constants of
    `rules` as they are now)."""
    org = organisation.current()
    age_sql, age_params = _fill(
        REVIEW_AGE_SQL,
        cap=rules.RISK_REVIEW_AGE_CAP,
        today=org.today(now),
        ended_on=("(rv.ended AT TIME ZONE %s)::date", [org.tz().key]),
        step=rules.REVIEW_AGE_STEP_DAYS,
    )
    column: Callable[[str], tuple[str, list[Any]]] = lambda sql: (sql, [])  # noqa: E731
    return _fill(
        RISK_SCORE_SQL,
        flags_cap=rules.RISK_FLAGS_CAP,
        per_critical=rules.RISK_CRITICAL_FLAG,
        per_warning=rules.RISK_WARNING_FLAG,
        not_qualified=rules.RISK_NOT_QUALIFIED,
        latest=column("s.latest_qualification_id"),
        invalidated_at=column("q.invalidated_at"),
        now=now,
        assessed_at=column("q.assessed_at"),
        validity=column("st.qualification_validity_days"),
        default_validity=settings.QUALIFICATION_VALIDITY_DAYS,
        stale=rules.RISK_QUALIFICATION_STALE,
        weak_cap=rules.RISK_WEAK_CAP,
        per_weak=rules.RISK_WEAK_ELEMENT,
        value_cap=rules.RISK_VALUE_CAP,
        amount=column("s.amount"),
        average=column("s.team_average"),
        # NULL for a deal never reviewed (GREATEST would turn a NULL age into 0 points).
        age_points=(f"CASE WHEN rv.ended IS NOT NULL THEN {age_sql} END", age_params),
        never_reviewed=rules.RISK_NEVER_REVIEWED,
        critical=column("COALESCE(f.critical, 0)"),
        warning=column("COALESCE(f.warning, 0)"),
        weak_scores=column("COALESCE(sc.weak, 0)"),
        scored=column("COALESCE(sc.scored, 0)"),
        elements=column("COALESCE(el.elements, 0)"),
    )


_HOLE = re.compile(r"%\((\w+)\)s")


def _fill(template: str, **parts: Any) -> tuple[str, list[Any]]:
    """SQL with named holes — ``%(name)s`` — filled in order: a hole given an
    `(sql, params)` pair takes that fragment, one given a callable takes a parameter the
    callable returns each time, one given a value takes it as a parameter; a hole used
    twice is filled twice. So a formula reads like its Python twin."""
    params: list[Any] = []

    def fill(match: re.Match[str]) -> str:
        part = parts[match.group(1)]
        if isinstance(part, tuple):
            params.extend(part[1])
            return f"({part[0]})"
        params.append(part() if callable(part) else part)
        return "%s"

    return _HOLE.sub(fill, template), params


def review_queue_for(user: User, team_id: Any = None) -> ReviewQueue:
    """Open deals `user` should review, riskiest first (coaching.rules.review_risk): those of
    the teams they manage (sub-teams included; a leader: all; a rep: none), never their own.
    The database ranks (the score as SQL, see review_queue_ranked) and returns the top
    REVIEW_QUEUE_SHOWN with how many it ranked; review_risk gives the reasons of those
    rows. The teams for the picker, SET LOCAL jit = off, the ranking and its deals (with
    BEGIN and COMMIT when the caller has no transaction): the same queries, and at most
    REVIEW_QUEUE_SHOWN deals read, however many deals. A team `user` may not pick: 404."""
    if not (user.is_authenticated and user.is_active and (user.is_manager or user.sees_everything)):
        return ReviewQueue(rows=[], teams=[], team=None, more=0)
    managed = access.managed_team_ids(user) if not user.sees_everything else None
    teams = list(matrix_teams_for(user, managed))
    qs = Opportunity.objects.filter(status=OpportunityStatus.OPEN).exclude(owner=user)
    if managed is not None:
        qs = qs.filter(owner__team_id__in=managed)
    team = None
    if team_id not in (None, ""):
        team, ids = picked_team(teams, team_id)
        qs = qs.filter(owner__team_id__in=ids)
    now = timezone.now()
    # Without JIT: the ranking's cost estimate (a dozen subqueries per deal) crosses every
    # JIT threshold at tens of thousands of deals, and compiling its expressions took
    # longer (~4 s of 7 s at 60,000 open deals) than running them (bench/review_queue.py).
    # SET LOCAL ends with this transaction (or the caller's, when there is one).
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        ranked = review_queue_ranked(qs, now=now, limit=REVIEW_QUEUE_SHOWN)
    rows = [queue_row(opp, now=now) for opp in ranked]
    total = ranked[0].ranked_total if ranked else 0
    return ReviewQueue(rows=rows, teams=teams, team=team, more=max(0, total - len(rows)))


def queue_row(opp: Any, *, now: dt.datetime) -> QueueRow:
    """One ranked deal (annotated by review_queue_ranked) with review_risk's score and
    reasons, from the same inputs the SQL score reads."""
    latest = opp.latest_qualification
    if latest is None:
        state = "none"
    elif latest.invalidated_at is not None:
        state = "voided"
    elif pipeline_rules.qualification_is_valid(
        assessed_at=latest.assessed_at,
        invalidated_at=None,
        validity_days=opp.stage.qualification_validity_days or settings.QUALIFICATION_VALIDITY_DAYS,
        now=now,
    ):
        state = "valid"
    else:
        state = "expired"
    # Elements of the framework the latest qualification left unscored are weak too.
    weak = opp.weak_scores + max(0, opp.framework_elements - opp.scored)
    org = organisation.current()
    days = (
        None
        if opp.last_review_at is None
        else (org.today(now) - org.localtime(opp.last_review_at).date()).days
    )
    risk = rules.review_risk(
        critical_flags=opp.critical_flags,
        warning_flags=opp.warning_flags,
        qualification_state=state,
        weak_elements=weak if latest is not None else 0,
        amount=opp.amount,
        team_average_amount=opp.team_average,
        days_since_review=days,
    )
    return QueueRow(
        opportunity=opp,
        risk=risk,
        qualification_state=state,
        last_review_at=opp.last_review_at,
        open_review_id=opp.open_review_id,
    )
