"""Every read of coaching, already limited to what the user may see: a rep their own
assessments, a manager those of their teams (sub-teams included), a leader everyone's.
The skills framework itself is read by everyone."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Avg,
    Case,
    CharField,
    Count,
    DateField,
    DateTimeField,
    Expression,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Lead, RowNumber, TruncDate
from django.http import Http404
from django.utils import timezone

from coaching import rules
from coaching.models import (
    ActionItem,
    CoachingPoint,
    CoachingSession,
    OpportunityReview,
    ReviewAgendaItem,
    ReviewFinding,
    ReviewStatus,
    Skill,
    SkillAssessment,
)
from salesops import access, organisation
from salesops.models import Role, Team, User

# --- the framework ---------------------------------------------------------------------


def skill_list(*, active_only: bool = False) -> QuerySet[Skill]:
    qs = Skill.objects.order_by("order", "id")
    return qs.filter(is_active=True) if active_only else qs


def skill_get(pk: Any) -> Skill:
    try:
        pk = int(pk)
    except (TypeError, ValueError) as exc:
        raise Http404("No such skill.") from exc
    skill = skill_list().filter(pk=pk).first()
    if skill is None:
        raise Http404("No such skill.")
    return skill


# --- assessments -----------------------------------------------------------------------


def assessments_for(user: User, filters: dict[str, Any] | None = None) -> QuerySet[SkillAssessment]:
    """Assessments of the people `user` may see, newest first. Filters (optional): rep,
    skill, team (its sub-teams included)."""
    f = filters or {}
    qs = (
        SkillAssessment.objects.filter(access.owner_scope_sql_q(user, field="rep"))
        .select_related("rep", "skill", "assessor")
        .order_by("-assessed_on", "-id")
    )
    if f.get("rep"):
        qs = qs.filter(rep_id=f["rep"])
    if f.get("skill"):
        qs = qs.filter(skill_id=f["skill"])
    if f.get("team"):
        qs = qs.filter(rep__team_id__in=access.team_subtree(int(f["team"])))
    return qs


def assessment_get_for(user: User, pk: Any) -> SkillAssessment:
    """One assessment; 404 outside `user`'s scope."""
    try:
        pk = int(pk)
    except (TypeError, ValueError) as exc:
        raise Http404("No such assessment.") from exc
    assessment = assessments_for(user).filter(pk=pk).first()
    if assessment is None:
        raise Http404("No such assessment.")
    return assessment


def assessable_people_for(user: User) -> QuerySet[User]:
    """Whom `user` may assess: the active members of their teams (a leader: everyone),
    never themselves; none for a rep. The service decides; this fills the form."""
    if not (user.is_authenticated and (user.is_manager or user.sees_everything)):
        return User.objects.none()
    return (
        User.objects.filter(access.visible_users_q(user), is_active=True)
        .exclude(pk=user.pk)
        .order_by("first_name", "last_name", "username")
    )


# --- the skills matrix -----------------------------------------------------------------

TREND_UP, TREND_DOWN, TREND_SAME, TREND_NEW = "up", "down", "same", "new"


@dataclass(frozen=True)
class Cell:
    skill: Skill
    level: int | None = None
    previous: int | None = None
    trend: str = ""
    assessed_on: Any = None


@dataclass(frozen=True)
class MatrixRow:
    rep: User
    cells: list[Cell]


@dataclass(frozen=True)
class SkillsMatrix:
    skills: list[Skill]
    rows: list[MatrixRow]
    teams: list[Team] = field(default_factory=list)
    team: Team | None = None


def matrix_teams_for(user: User, managed: set[int] | None = None) -> QuerySet[Team]:
    """The teams whose matrix `user` may pick: a leader every team, a manager the teams
    they manage (sub-teams included), a rep none."""
    if user.sees_everything:
        return Team.objects.order_by("name", "id")
    if user.is_manager:
        ids = access.managed_team_ids(user) if managed is None else managed
        return Team.objects.filter(pk__in=ids).order_by("name", "id")
    return Team.objects.none()


def picked_team(teams: list[Team], team_id: Any) -> tuple[Team, set[int]]:
    """The team `team_id` among the `teams` a user may pick (already loaded), with its
    sub-teams; a team not among them is a 404."""
    try:
        pk = int(team_id)
    except (TypeError, ValueError):
        raise Http404("No such team.") from None
    team = next((t for t in teams if t.pk == pk), None)
    if team is None:
        raise Http404("No such team.")
    return team, access.sub_teams_among(teams, team.pk)


def latest_levels(reps: QuerySet[User]) -> QuerySet[SkillAssessment]:
    """Per rep (of `reps`) and active skill: the latest level, the one before it and the
    trend between them (up/down/same, or new with no earlier one) — one query, with the
    latest two found by window functions over the (rep, skill, -assessed_on, -id) index."""
    window = {
        "partition_by": [F("rep_id"), F("skill_id")],
        "order_by": [F("assessed_on").desc(), F("id").desc()],
    }
    return (
        SkillAssessment.objects.filter(rep__in=reps, skill__is_active=True)
        .annotate(
            rn=Window(RowNumber(), **window),
            previous=Window(Lead("level"), **window),
        )
        .annotate(
            trend=Case(
                When(previous__isnull=True, then=Value(TREND_NEW)),
                When(level__gt=F("previous"), then=Value(TREND_UP)),
                When(level__lt=F("previous"), then=Value(TREND_DOWN)),
                default=Value(TREND_SAME),
                output_field=CharField(),
            )
        )
        .filter(rn=1)
        .values("rep_id", "skill_id", "level", "previous", "trend", "assessed_on")
        .order_by()
    )


def skills_matrix_for(user: User, team_id: Any = None) -> SkillsMatrix:
    """Reps visible to `user` (of `team_id` and its sub-teams when given) × the active
    skills, each cell with the latest level, the previous one and the trend. A rep gets
    their own row only. A team `user` may not pick is a 404. A fixed number of queries
    (teams, skills, reps, levels), however many reps and assessments."""
    managed = access.managed_team_ids(user) if user.is_manager else None
    teams = list(matrix_teams_for(user, managed))
    reps = User.objects.filter(is_active=True)
    team = None
    if user.is_rep or not (user.is_manager or user.sees_everything):
        reps = reps.filter(pk=user.pk)
    else:
        reps = reps.filter(role=Role.REP)
        if user.is_manager:
            reps = reps.filter(team_id__in=managed)
    if team_id not in (None, ""):
        team, ids = picked_team(teams, team_id)
        reps = reps.filter(team_id__in=ids)
    reps = reps.order_by("first_name", "last_name", "username")
    skills = list(skill_list(active_only=True))
    rep_list = list(reps.select_related("team"))
    cells: dict[tuple[int, int], dict[str, Any]] = {
        (row["rep_id"], row["skill_id"]): row for row in latest_levels(reps)
    }
    rows = []
    for rep in rep_list:
        row_cells = []
        for skill in skills:
            found = cells.get((rep.pk, skill.pk))
            row_cells.append(
                Cell(
                    skill=skill,
                    level=found["level"],
                    previous=found["previous"],
                    trend=found["trend"],
                    assessed_on=found["assessed_on"],
                )
                if found
                else Cell(skill=skill)
            )
        rows.append(MatrixRow(rep=rep, cells=row_cells))
    return SkillsMatrix(skills=skills, rows=rows, teams=teams, team=team)


# --- reviews, 1:1s and action items: who sees what ----------------------------------------
# A rep sees the reviews and 1:1s they are coached in; a manager those of their teams'
# people (sub-teams included) and those they held themselves; a leader everyone's.
# (Careful: Q() | Q(x) is Q(x) in Django, so "everyone" is handled before combining.)


def _coached_q(user: User, *, prefix: str = "") -> Q:
    """Reviews or sessions (under `prefix`, e.g. "review__") that `user` may see."""
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.sees_everything:
        return Q()
    return access.owner_scope_sql_q(user, field=f"{prefix}rep") | Q(**{f"{prefix}manager": user})


def reviews_visible_q(user: User) -> Q:
    return _coached_q(user)


def sessions_visible_q(user: User) -> Q:
    return _coached_q(user)


def action_items_for(user: User) -> QuerySet[ActionItem]:
    """Action items of the reviews and 1:1s `user` may see, and their own; soonest due
    first."""
    qs = ActionItem.objects.select_related(
        "owner", "review__rep", "review__manager", "session__rep", "session__manager"
    ).order_by("due_on", "id")
    if not (user.is_authenticated and user.is_active):
        return qs.none()
    if user.sees_everything:
        return qs
    return qs.filter(
        Q(owner=user)
        | (Q(review__isnull=False) & _coached_q(user, prefix="review__"))
        | (Q(session__isnull=False) & _coached_q(user, prefix="session__"))
    )


def action_item_get_for(user: User, pk: Any) -> ActionItem:
    """One action item (its review or 1:1 and their people loaded); 404 outside `user`'s
    scope."""
    try:
        pk = int(pk)
    except (TypeError, ValueError) as exc:
        raise Http404("No such action item.") from exc
    item = action_items_for(user).filter(pk=pk).first()
    if item is None:
        raise Http404("No such action item.")
    return item


# --- opportunity reviews ---
# A rep sees the reviews of their deals; a manager their teams' (and those they held); a
# leader all (reviews_visible_q). The agenda's facts are read through the pipeline's and
# proposals' own selectors and services, and judged by coaching.rules.review_agenda.

REVIEW_RELATED = ("opportunity", "opportunity__account", "rep", "manager")


def _review_id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def reviews_for(user: User, filters: dict[str, Any] | None = None) -> QuerySet[OpportunityReview]:
    """The reviews `user` may see, latest first, with the deal, rep and manager joined and
    `open_items` (action items not done) counted. Filters (optional, already validated):
    rep, manager, opportunity, status."""
    f = filters or {}
    qs = (
        OpportunityReview.objects.filter(reviews_visible_q(user))
        .select_related(*REVIEW_RELATED)
        .annotate(open_items=Count("action_items", filter=Q(action_items__done_at__isnull=True)))
        .order_by("-started_at", "-id")
    )
    for name in ("rep", "manager", "opportunity", "status"):
        if f.get(name):
            qs = qs.filter(**{name if name == "status" else f"{name}_id": f[name]})
    return qs


def review_get_for(user: User, pk: Any) -> OpportunityReview:
    """One review with its agenda, findings, coaching points (and skills) and action items
    (and owners) loaded: a fixed number of queries. 404 outside `user`'s scope."""
    pk = _review_id(pk)
    review = (
        reviews_for(user)
        .prefetch_related(
            Prefetch(
                "agenda_items",
                queryset=ReviewAgendaItem.objects.select_related("added_by").order_by(
                    "order", "id"
                ),
            ),
            Prefetch("findings", queryset=ReviewFinding.objects.select_related("created_by")),
            Prefetch(
                "coaching_points",
                queryset=CoachingPoint.objects.select_related("skill", "created_by"),
            ),
            Prefetch(
                "action_items",
                queryset=ActionItem.objects.select_related(
                    "owner", "review__rep", "review__manager"
                ).order_by("due_on", "id"),
            ),
        )
        .filter(pk=pk)
        .first()
        if pk is not None
        else None
    )
    if review is None:
        raise Http404("No such review.")
    return review


@dataclass(frozen=True)
class AgendaLayout:
    """A review's agenda as its page lays it out (coaching.rules.fold_agenda)."""

    shown: list[ReviewAgendaItem]
    folded: list[ReviewAgendaItem]

    @property
    def folded_undiscussed(self) -> int:
        return sum(1 for item in self.folded if not item.discussed)


def review_agenda_layout(review: OpportunityReview) -> AgendaLayout:
    """The top points of the review's agenda in view (and the manager's own), the rest
    folded. Reads the agenda prefetched by review_get_for: no query of its own."""
    shown, folded = rules.fold_agenda(list(review.agenda_items.all()))
    return AgendaLayout(shown=shown, folded=folded)


def open_review_of(opportunity_id: int) -> OpportunityReview | None:
    """The deal's review in progress, if any (the caller has checked scope)."""
    return OpportunityReview.objects.filter(
        opportunity_id=opportunity_id, status=ReviewStatus.OPEN
    ).first()


def last_review_of(opportunity_id: int) -> OpportunityReview | None:
    """The deal's latest review (open or completed), or None."""
    return (
        OpportunityReview.objects.filter(opportunity_id=opportunity_id)
        .order_by("-started_at", "-id")
        .first()
    )


def reviews_of_opportunity(user: User, opportunity_id: int) -> list[OpportunityReview]:
    """The deal's reviews `user` may see, latest first (the opportunity page's card)."""
    return list(reviews_for(user, {"opportunity": opportunity_id})[:5])


def review_since(last: OpportunityReview | None) -> Any:
    """Changes count from when the last review ended (or started, if it never ended)."""
    if last is None:
        return None
    return last.completed_at or last.started_at


def deal_snapshot(opp: Any, since: Any) -> rules.DealSnapshot:
    """The facts a review's agenda is generated from, read now: unmet required milestones of
    the current and the next open stage, the qualification, open flags, the latest
    proposal's executive summary checks, and close date / amount changes after `since` (the
    last review; None: since the deal was created). The caller has checked scope."""
    from pipeline import selectors as pipeline_selectors
    from pipeline.models import ChangeField, FlagKind
    from proposals import selectors as proposal_selectors
    from proposals import services as proposal_services

    groups = pipeline_selectors.milestones_by_stage(opp)
    after = pipeline_selectors.next_stage(opp)
    unmet: list[rules.UnmetMilestone] = []
    for group in groups:
        if group.stage.pk not in (opp.stage_id, after.pk if after else None):
            continue
        for row in group.open_required:
            unmet.append(
                rules.UnmetMilestone(
                    stage=group.stage.name,
                    title=row.milestone.title,
                    in_next_stage=group.stage.pk != opp.stage_id,
                    lacks=tuple(row.gaps),
                )
            )
    summary = pipeline_selectors.qualification_summary_for(opp)
    elements = (
        tuple((e.element.name, e.score.score if e.score else None) for e in summary.elements)
        if summary.latest is not None
        else ()
    )
    kinds = dict(FlagKind.choices)
    flags = tuple(
        rules.OpenFlagFact(
            label=kinds.get(f.kind, f.kind), severity=f.severity, explanation=f.explanation
        )
        for f in pipeline_selectors.open_flags_for(opp)
    )
    proposal = proposal_selectors.proposals_of_opportunity(opp.pk).first()
    summary_state, failures = "no_proposal", ()
    if proposal is not None:
        checks = proposal_services.summary_checks(opportunity=opp, text=proposal.executive_summary)
        failures = tuple(c.message for c in checks if not c.passed)
        summary_state = "failing" if failures else "passing"
    history = pipeline_selectors.history_for(opp).filter(
        field__in=[ChangeField.CLOSE_DATE, ChangeField.AMOUNT]
    )
    if since is not None:
        history = history.filter(changed_at__gt=since)
    dates: list[rules.DateChange] = []
    amounts: list[rules.AmountChange] = []
    org = organisation.current()
    for change in sorted(history, key=lambda c: (c.changed_at, c.pk)):
        if not change.old_value:  # the deal's creation: no "old" to compare with
            continue
        by = str(change.changed_by) if change.changed_by else ""
        at = org.localtime(change.changed_at)
        try:
            if change.field == ChangeField.CLOSE_DATE:
                dates.append(
                    rules.DateChange(
                        old=dt.date.fromisoformat(change.old_value),
                        new=dt.date.fromisoformat(change.new_value),
                        at=at,
                        by=by,
                    )
                )
            else:
                amounts.append(
                    rules.AmountChange(
                        old=Decimal(change.old_value), new=Decimal(change.new_value), at=at, by=by
                    )
                )
        except (ValueError, InvalidOperation):
            continue  # an imported row in another format: history, not an agenda point
    return rules.DealSnapshot(
        stage=opp.stage.name,
        next_stage=after.name if after else None,
        unmet_milestones=tuple(unmet),
        qualification_state=summary.state,
        element_scores=elements,
        flags=flags,
        summary_state=summary_state,
        summary_failures=failures,
        close_date_changes=tuple(dates),
        amount_changes=tuple(amounts),
        currency=opp.currency,
        reviewed_before=since is not None,
    )


class _CountOf(Subquery):
    template = "(SELECT count(*) FROM (%(subquery)s) AS counted)"
    output_field = IntegerField()


class _SqlTemplate(Expression):
    """SQL with named holes — ``%(name)s`` — each filled by an expression compiled in
    place (a hole used twice is compiled twice), so a formula reads like its Python twin."""

    def __init__(self, template: str, *, output_field: Any, **parts: Any) -> None:
        super().__init__(output_field=output_field)
        self.template = template
        self.parts = {
            k: v if hasattr(v, "resolve_expression") else Value(v) for k, v in parts.items()
        }

    def get_source_expressions(self) -> list[Any]:
        return list(self.parts.values())

    def set_source_expressions(self, exprs: list[Any]) -> None:
        self.parts = dict(zip(self.parts, exprs, strict=True))

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        compiled = {name: compiler.compile(expr) for name, expr in self.parts.items()}
        params: list[Any] = []

        def fill(match: re.Match[str]) -> str:
            sql, part_params = compiled[match.group(1)]
            params.extend(part_params)
            return f"({sql})"

        return _HOLE.sub(fill, self.template), params


_HOLE = re.compile(r"%\((\w+)\)s")

# coaching.rules.review_risk's score, as SQL: the same inputs, the same constants (read from
# `rules` at call time), the same integer arithmetic — `int(ratio * 10)` on positive
# Decimals is the exact truncated quotient div(amount * 10, average); `//` on non-negative
# days is integer `/`. LEAST/GREATEST skip NULLs, so a NULL is never fed to them where
# Python would see None. tests/coaching/test_selectors_reviews.py checks the twins agree.
_RISK_SCORE_SQL = """
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
_REVIEW_AGE_SQL = "LEAST(%(cap)s, GREATEST(0, %(today)s - %(ended_on)s) / %(step)s)"


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


def _review_queue_ranked(qs: QuerySet[Any], *, now: dt.datetime) -> QuerySet[Any]:
    """Open deals `qs` annotated with what the queue shows and with `risk_score`
    (review_risk's score computed by the database, see _RISK_SCORE_SQL) and `ranked_total`
    (how many deals the ranking has), riskiest first. One query, however many deals: the
    caller slices it. The inputs shown are read again outside the score, but PostgreSQL
    evaluates those only for the rows past the LIMIT."""
    from pipeline.models import OpportunityFlag, QualificationElement, QualificationScore

    # Counted, so unordered: the models' default orderings would sort (and join the
    # elements for their order) once per deal.
    flags = OpportunityFlag.objects.filter(
        opportunity=OuterRef("pk"), cleared_at__isnull=True
    ).order_by()
    scores = QualificationScore.objects.filter(
        qualification=OuterRef("latest_qualification")
    ).order_by()
    elements = QualificationElement.objects.filter(
        framework_id=OuterRef("pipeline__framework_id")
    ).order_by()
    reviews = OpportunityReview.objects.filter(opportunity=OuterRef("pk")).annotate(
        ended=Coalesce("completed_at", "started_at")
    )
    inputs = {
        "critical": _CountOf(flags.filter(severity="critical").values("pk")),
        "warning": _CountOf(flags.exclude(severity="critical").values("pk")),
        "weak_scores": _CountOf(scores.filter(score__lt=rules.WEAK_BELOW).values("pk")),
        "scored": _CountOf(scores.values("pk")),
        "elements": _CountOf(elements.values("pk")),
    }
    org = organisation.current()
    tz = org.tz()
    age_points = reviews.order_by("-ended").annotate(
        age_points=_SqlTemplate(
            _REVIEW_AGE_SQL,
            output_field=IntegerField(),
            cap=rules.RISK_REVIEW_AGE_CAP,
            today=Value(org.today(now), output_field=DateField()),
            ended_on=TruncDate("ended", tzinfo=tz),
            step=rules.REVIEW_AGE_STEP_DAYS,
        )
    )
    # Amounts in different currencies are never averaged together: a deal is weighed
    # against its team's open deals in its own currency.
    team_average = Window(Avg("amount"), partition_by=[F("owner__team_id"), F("currency")])
    risk_score = _SqlTemplate(
        _RISK_SCORE_SQL,
        output_field=IntegerField(),
        flags_cap=rules.RISK_FLAGS_CAP,
        per_critical=rules.RISK_CRITICAL_FLAG,
        per_warning=rules.RISK_WARNING_FLAG,
        not_qualified=rules.RISK_NOT_QUALIFIED,
        latest=F("latest_qualification_id"),
        invalidated_at=F("latest_qualification__invalidated_at"),
        now=Value(now, output_field=DateTimeField()),
        assessed_at=F("latest_qualification__assessed_at"),
        validity=F("stage__qualification_validity_days"),
        default_validity=settings.QUALIFICATION_VALIDITY_DAYS,
        stale=rules.RISK_QUALIFICATION_STALE,
        weak_cap=rules.RISK_WEAK_CAP,
        per_weak=rules.RISK_WEAK_ELEMENT,
        value_cap=rules.RISK_VALUE_CAP,
        amount=F("amount"),
        average=team_average,
        age_points=Subquery(age_points.values("age_points")[:1]),
        never_reviewed=rules.RISK_NEVER_REVIEWED,
        **inputs,
    )
    return (
        qs.select_related("owner", "account", "stage", "latest_qualification")
        .annotate(
            critical_flags=inputs["critical"],
            warning_flags=inputs["warning"],
            weak_scores=inputs["weak_scores"],
            scored=inputs["scored"],
            framework_elements=inputs["elements"],
            last_review_at=Subquery(reviews.order_by("-ended").values("ended")[:1]),
            open_review_id=Subquery(reviews.filter(status=ReviewStatus.OPEN).values("pk")[:1]),
            team_average=team_average,
            risk_score=risk_score,
            ranked_total=Window(Count("pk")),
        )
        .order_by("-risk_score", "-amount", "id")
    )


def review_queue_for(user: User, team_id: Any = None) -> ReviewQueue:
    """Open deals `user` should review, riskiest first (coaching.rules.review_risk): those of
    the teams they manage (sub-teams included; a leader: all; a rep: none), never their own.
    The database ranks (the score as SQL, see _review_queue_ranked) and returns the top
    REVIEW_QUEUE_SHOWN with how many it ranked; review_risk gives the reasons of those
    rows. The teams for the picker, SET LOCAL jit = off and the ranked page (with BEGIN and
    COMMIT when the caller has no transaction): the same queries, and at most
    REVIEW_QUEUE_SHOWN rows read, however many deals. A team `user` may not pick: 404."""
    from pipeline.models import Opportunity, OpportunityStatus

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
        ranked = list(_review_queue_ranked(qs, now=now)[:REVIEW_QUEUE_SHOWN])
    rows = [_queue_row(opp, now=now) for opp in ranked]
    total = ranked[0].ranked_total if ranked else 0
    return ReviewQueue(rows=rows, teams=teams, team=team, more=max(0, total - len(rows)))


def _queue_row(opp: Any, *, now: dt.datetime) -> QueueRow:
    """One ranked deal (annotated by _review_queue_ranked) with review_risk's score and
    reasons, from the same inputs the SQL score reads."""
    from pipeline import rules as pipeline_rules

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


def review_people_for(user: User) -> QuerySet[User]:
    """The reps whose reviews `user` sees (the list page's rep filter)."""
    if not (user.is_authenticated and user.is_active):
        return User.objects.none()
    return User.objects.filter(
        pk__in=OpportunityReview.objects.filter(reviews_visible_q(user)).values("rep_id")
    ).order_by("first_name", "last_name", "username")


# --- 1:1 sessions ---
# A rep sees their own 1:1s, a manager those of their teams' people (and those they held),
# a leader everyone's (sessions_visible_q). Each read below is already limited so.

SESSION_RELATED = ("rep", "rep__team", "manager", "focus_skill", "second_focus_skill")


def _id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def sessions_for(user: User, filters: dict[str, Any] | None = None) -> QuerySet[CoachingSession]:
    """The 1:1s `user` may see, latest first, with their people and focus skills joined and
    `open_items` (their action items not done yet) counted. Filters (optional, already
    validated): rep, manager, team (sub-teams included), held_after, held_before
    (inclusive dates)."""
    f = filters or {}
    qs = (
        CoachingSession.objects.filter(sessions_visible_q(user))
        .select_related(*SESSION_RELATED)
        .annotate(open_items=Count("action_items", filter=Q(action_items__done_at__isnull=True)))
        .order_by("-held_on", "-id")
    )
    if f.get("rep"):
        qs = qs.filter(rep_id=f["rep"])
    if f.get("manager"):
        qs = qs.filter(manager_id=f["manager"])
    if f.get("team"):
        qs = qs.filter(rep__team_id__in=access.team_subtree(int(f["team"])))
    if f.get("held_after"):
        qs = qs.filter(held_on__gte=f["held_after"])
    if f.get("held_before"):
        qs = qs.filter(held_on__lte=f["held_before"])
    return qs


def session_get_for(user: User, pk: Any) -> CoachingSession:
    """One 1:1 with its action items (and their owners) loaded; 404 outside `user`'s
    scope."""
    pk = _id(pk)
    session = (
        sessions_for(user)
        .prefetch_related(
            Prefetch(
                "action_items",
                queryset=ActionItem.objects.select_related(
                    "owner", "session__rep", "session__manager"
                ).order_by("due_on", "id"),
            )
        )
        .filter(pk=pk)
        .first()
        if pk is not None
        else None
    )
    if session is None:
        raise Http404("No such 1:1.")
    return session


def previous_session(
    user: User, rep: User | int, *, before: CoachingSession | None = None
) -> CoachingSession | None:
    """The rep's latest 1:1 that `user` may see — held before `before` (same day: the one
    recorded earlier) when given — or None."""
    rep_id = rep if isinstance(rep, int) else rep.pk
    qs = sessions_for(user).filter(rep_id=rep_id)
    if before is not None:
        qs = qs.filter(Q(held_on__lt=before.held_on) | Q(held_on=before.held_on, id__lt=before.pk))
    return qs.first()


def follow_ups(
    user: User, rep: User | int, *, before: CoachingSession | None = None
) -> tuple[CoachingSession | None, list[ActionItem]]:
    """What the next 1:1 opens with: the previous 1:1 (see `previous_session`) and its
    action items that are still open, soonest due first. Two queries."""
    previous = previous_session(user, rep, before=before)
    if previous is None:
        return None, []
    items = list(
        ActionItem.objects.filter(session=previous, done_at__isnull=True)
        .select_related("owner", "session__rep", "session__manager")
        .order_by("due_on", "id")
    )
    return previous, items


def one_on_one_people_for(user: User) -> QuerySet[User]:
    """Whom `user` may hold a 1:1 with: the active reps of the teams they manage (sub-teams
    included), every active rep for a leader/admin, nobody for a rep. Fills the form's
    rep picker; coaching.services.session_create decides."""
    if not (user.is_authenticated and (user.is_manager or user.sees_everything)):
        return User.objects.none()
    qs = User.objects.filter(is_active=True, role=Role.REP).exclude(pk=user.pk)
    if not user.sees_everything:
        qs = qs.filter(team_id__in=access.managed_team_ids_sql(user))
    return qs.select_related("team").order_by("first_name", "last_name", "username")


def session_reps_for(user: User) -> QuerySet[User]:
    """The people whose 1:1s `user` sees (the list page's rep filter): for a rep only
    themselves."""
    if not (user.is_authenticated and user.is_active):
        return User.objects.none()
    return User.objects.filter(
        pk__in=CoachingSession.objects.filter(sessions_visible_q(user)).values("rep_id")
    ).order_by("first_name", "last_name", "username")


def rep_latest_levels(rep: User) -> dict[int, dict[str, Any]]:
    """Skill id → the rep's latest level on it (with previous level, trend and date), for
    the active skills: one query. The caller has checked `rep` is in scope."""
    return {row["skill_id"]: row for row in latest_levels(User.objects.filter(pk=rep.pk))}


# --- coaching coverage ---
# Per manager: reps coached within cadence, 1:1s held, reviews completed and action items
# done on time. Whose rep is whom is the cadence's rule (coaching/cadence.py: the nearest
# active manager up the rep's team chain), read from the same SQL, so the coverage page and
# the overdue flags never disagree. A fixed number of queries whatever the number of
# managers and reps: the teams in scope (one or two), then one aggregate statement.

COVERAGE_MIN_DAYS, COVERAGE_MAX_DAYS, COVERAGE_DEFAULT_DAYS = 7, 365, 30


@dataclass(frozen=True)
class CoverageRow:
    manager_id: int | None  # None: the totals row
    manager_name: str
    reps: int = 0
    coached: int = 0  # reps whose 1:1 is not overdue today
    one_on_ones: int = 0  # 1:1s held by the manager in the window
    reviews: int = 0  # opportunity reviews the manager completed in the window
    items_due: int = 0  # action items of the manager's reviews/1:1s due in the window
    items_on_time: int = 0  # … done on or before their due date

    @property
    def coached_share(self) -> float | None:
        return self.coached / self.reps if self.reps else None

    @property
    def on_time_share(self) -> float | None:
        return self.items_on_time / self.items_due if self.items_due else None


@dataclass(frozen=True)
class Coverage:
    rows: list[CoverageRow]
    totals: CoverageRow
    days: int
    since: Any  # the window's first day (1:1s and reviews: since … today)
    items_from: Any  # action items due from this day to yesterday
    today: Any
    teams: list[Team] = field(default_factory=list)  # the teams `user` may pick
    team: Team | None = None


COVERAGE_SQL = """
WITH {rep_cadence},
scope_reps AS (
    SELECT * FROM rep_cadence
    WHERE manager_id IS NOT NULL
      AND (%(teams)s::bigint[] IS NULL OR team_id = ANY(%(teams)s::bigint[]))
),
managers AS (
    SELECT t.manager_id AS id FROM salesops_team t
    WHERE t.manager_id IS NOT NULL
      AND (%(teams)s::bigint[] IS NULL OR t.id = ANY(%(teams)s::bigint[]))
    UNION
    SELECT manager_id FROM scope_reps
),
rep_counts AS (
    SELECT manager_id, count(*) AS reps,
           count(*) FILTER (WHERE %(today)s::date <= due_on) AS coached
    FROM scope_reps GROUP BY manager_id
),
sessions AS (
    SELECT s.manager_id, count(*) AS n
    FROM coaching_coachingsession s JOIN salesops_user r ON r.id = s.rep_id
    WHERE s.held_on BETWEEN %(since)s AND %(today)s
      AND (%(teams)s::bigint[] IS NULL OR r.team_id = ANY(%(teams)s::bigint[]))
    GROUP BY s.manager_id
),
reviews AS (
    SELECT v.manager_id, count(*) AS n
    FROM coaching_opportunityreview v JOIN salesops_user r ON r.id = v.rep_id
    WHERE v.status = 'completed'
      AND (v.completed_at AT TIME ZONE %(tz)s)::date BETWEEN %(since)s AND %(today)s
      AND (%(teams)s::bigint[] IS NULL OR r.team_id = ANY(%(teams)s::bigint[]))
    GROUP BY v.manager_id
),
items AS (
    SELECT COALESCE(v.manager_id, s.manager_id) AS manager_id, count(*) AS due,
           count(*) FILTER (WHERE a.done_at IS NOT NULL
                            AND (a.done_at AT TIME ZONE %(tz)s)::date <= a.due_on) AS on_time
    FROM coaching_actionitem a
    LEFT JOIN coaching_opportunityreview v ON v.id = a.review_id
    LEFT JOIN coaching_coachingsession s ON s.id = a.session_id
    JOIN salesops_user r ON r.id = COALESCE(v.rep_id, s.rep_id)
    WHERE a.due_on >= %(items_from)s AND a.due_on < %(today)s
      AND (%(teams)s::bigint[] IS NULL OR r.team_id = ANY(%(teams)s::bigint[]))
    GROUP BY 1
)
SELECT m.id,
       COALESCE(NULLIF(btrim(m.first_name || ' ' || m.last_name), ''), m.username) AS name,
       COALESCE(rc.reps, 0), COALESCE(rc.coached, 0), COALESCE(se.n, 0), COALESCE(rv.n, 0),
       COALESCE(it.due, 0), COALESCE(it.on_time, 0)
FROM managers mg
JOIN salesops_user m ON m.id = mg.id AND m.is_active
LEFT JOIN rep_counts rc ON rc.manager_id = m.id
LEFT JOIN sessions se ON se.manager_id = m.id
LEFT JOIN reviews rv ON rv.manager_id = m.id
LEFT JOIN items it ON it.manager_id = m.id
ORDER BY lower(COALESCE(NULLIF(btrim(m.first_name || ' ' || m.last_name), ''), m.username)),
         m.id
"""


def refuse_unless_coach(user: User) -> None:
    """Coverage and the coaching flags of others are for managers and leaders."""
    from salesops.exceptions import PermissionDenied

    if not (user.is_authenticated and user.is_active and (user.is_manager or user.sees_everything)):
        raise PermissionDenied("Coaching coverage is for managers and leaders.")


def coverage_for(
    user: User, team_id: Any = None, days: int = COVERAGE_DEFAULT_DAYS, *, now: Any = None
) -> Coverage:
    """One row per manager in `user`'s scope — a leader: every manager (of `team_id`'s
    subtree when given); a manager: themselves and the managers of their sub-teams — with
    their reps (of the teams in scope), how many are coached within cadence today, the
    1:1s held and reviews completed in the last `days` days (today included), and the
    action items of their reviews and 1:1s due in the `days` days before today and how
    many were done on time; and the totals.

    Refuses a rep (PermissionDenied) and `days` outside 7–365 (ValidationFailed); a team
    `user` may not pick is a 404. Three queries at most, however many rows."""
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from coaching.cadence import REP_CADENCE_SQL, cadence_params
    from salesops.exceptions import ValidationFailed

    refuse_unless_coach(user)
    if (
        isinstance(days, bool)
        or not isinstance(days, int)
        or not (COVERAGE_MIN_DAYS <= days <= COVERAGE_MAX_DAYS)
    ):
        message = f"Enter a whole number of days from {COVERAGE_MIN_DAYS} to {COVERAGE_MAX_DAYS}."
        raise ValidationFailed(details={"days": [message]})
    teams = list(matrix_teams_for(user))
    team = None
    scope: list[int] | None = None if user.sees_everything else [t.pk for t in teams]
    if team_id not in (None, ""):
        team, ids = picked_team(teams, team_id)
        scope = sorted(ids)
    now = now or timezone.now()
    today = organisation.current().today(now)
    since = today - dt.timedelta(days=days - 1)
    items_from = today - dt.timedelta(days=days)
    params = {
        **cadence_params(now=now),
        "teams": scope,
        "today": today,
        "since": since,
        "items_from": items_from,
    }
    with connection.cursor() as cursor:
        cursor.execute(COVERAGE_SQL.format(rep_cadence=REP_CADENCE_SQL), params)
        rows = [CoverageRow(*row) for row in cursor.fetchall()]
    totals = CoverageRow(
        manager_id=None,
        manager_name="Total",
        **{
            name: sum(getattr(r, name) for r in rows)
            for name in (
                "reps", "coached", "one_on_ones", "reviews", "items_due", "items_on_time"
            )
        },
    )  # fmt: skip
    return Coverage(
        rows=rows,
        totals=totals,
        days=days,
        since=since,
        items_from=items_from,
        today=today,
        teams=teams,
        team=team,
    )


@dataclass(frozen=True)
class OneOnOneDue:
    rep_id: int
    rep_name: str
    started_on: Any
    last_held_on: Any
    due_on: Any
    today: Any

    @property
    def overdue(self) -> bool:
        return self.today > self.due_on

    @property
    def days_overdue(self) -> int:
        return max(0, (self.today - self.due_on).days)

    @property
    def days_left(self) -> int:
        return max(0, (self.due_on - self.today).days)


ONE_ON_ONES_SQL = """
WITH {rep_cadence}
SELECT rep_id, rep_name, started_on, last_held_on, due_on
FROM rep_cadence
WHERE {where}
ORDER BY due_on, lower(rep_name), rep_id
"""


def _one_on_ones(where: str, extra: dict[str, Any], *, rep_ids: Any = None) -> list[OneOnOneDue]:
    from django.db import connection
    from django.utils import timezone

    from coaching.cadence import REP_CADENCE_SQL, cadence_params

    now = timezone.now()
    today = organisation.current().today(now)
    sql = ONE_ON_ONES_SQL.format(rep_cadence=REP_CADENCE_SQL, where=where)
    with connection.cursor() as cursor:
        cursor.execute(sql, {**cadence_params(now=now, rep_ids=rep_ids), **extra})
        return [OneOnOneDue(*row, today=today) for row in cursor.fetchall()]


def one_on_ones_due_for(manager: User) -> list[OneOnOneDue]:
    """The reps whose 1:1s `manager` owes (the cadence's rule), with their due dates, the
    most overdue first: one query."""
    return _one_on_ones("manager_id = %(manager)s", {"manager": manager.pk})


def overdue_one_on_ones_for(manager: User) -> list[OneOnOneDue]:
    """`one_on_ones_due_for`, only those overdue today (most overdue first)."""
    return [row for row in one_on_ones_due_for(manager) if row.overdue]


def next_one_on_one_for(rep: User) -> OneOnOneDue | None:
    """A rep's next 1:1 due date (None for someone who is not an active rep): one query."""
    rows = _one_on_ones("TRUE", {}, rep_ids=[rep.pk])
    return rows[0] if rows else None


def coaching_flags_for(user: User, kind: str | None = None) -> QuerySet[Any]:
    """The open coaching flags `user` may see: their own, a manager's also those of the
    people of their teams, a leader's all; newest first, subjects joined."""
    from coaching.models import CoachingFlag

    qs = (
        CoachingFlag.objects.filter(
            access.owner_scope_sql_q(user, field="recipient"), cleared_at__isnull=True
        )
        .select_related("recipient", "rep", "action_item")
        .order_by("-raised_at", "-id")
    )
    return qs.filter(kind=kind) if kind else qs


def my_coaching_flags(user: User) -> QuerySet[Any]:
    """The open coaching flags addressed to `user` (their home page)."""
    return coaching_flags_for(user).filter(recipient=user)


def open_action_items_set_by(user: User) -> QuerySet[ActionItem]:
    """Open action items `user` set (a manager's follow-ups), soonest due first."""
    return action_items_for(user).filter(created_by=user, done_at__isnull=True)


def my_open_action_items(user: User) -> QuerySet[ActionItem]:
    """Open action items `user` owns, soonest due first."""
    return action_items_for(user).filter(owner=user, done_at__isnull=True)


def coaching_received(
    rep_ids: list[int], *, start: dt.date, end: dt.date
) -> dict[int, tuple[int, int]]:
    """Per rep: 1:1s held with them and opportunity reviews of their deals started, from
    `start` to `end` (days in the organisation's time zone). Reps with neither are absent.
    Two queries; for the insights study."""
    org = organisation.current()
    sessions = dict(
        CoachingSession.objects.filter(rep_id__in=rep_ids, held_on__gte=start, held_on__lte=end)
        .values("rep_id")
        .annotate(n=Count("id"))
        .values_list("rep_id", "n")
    )
    reviews = dict(
        OpportunityReview.objects.filter(
            rep_id__in=rep_ids,
            started_at__gte=org.start_of(start),
            started_at__lt=org.start_of(end + dt.timedelta(days=1)),
        )
        .values("rep_id")
        .annotate(n=Count("id"))
        .values_list("rep_id", "n")
    )
    return {
        rep: (sessions.get(rep, 0), reviews.get(rep, 0)) for rep in sessions.keys() | reviews.keys()
    }
