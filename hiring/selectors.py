"""Every read of structured hiring, limited to who may see it. Candidate data is personal:
recruiters and administrators see every candidate, a hiring manager their positions',
an interviewer the candidates they interview — and every view of a candidate is audited.

Independence: nobody who still owes a scorecard for a candidate sees anyone else's for
that candidate (404); after submitting their own, an interviewer sees the others'
submitted ones. Drafts are only ever their author's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet

from coaching.focus_suggestions import FocusSuggestion
from coaching.models import Skill
from forecasting import selectors as forecasting_selectors
from hiring import rules
from hiring.models import (
    AttributeRating,
    Candidate,
    Interview,
    OnboardingPlan,
    OnboardingTask,
    OnboardingTemplate,
    OnboardingTemplateTask,
    Position,
    Recommendation,
    Scorecard,
    ScorecardTemplate,
    TemplateAttribute,
)
from hiring.rules import runs_hiring
from pipeline import selectors as pipeline_selectors
from proposals import selectors as proposal_selectors
from salesops import access, organisation
from salesops.cleaning import query_int
from salesops.exceptions import NotFound
from salesops.models import Role, Team, User
from salesops.services import audit_record


def template_list() -> QuerySet[ScorecardTemplate]:
    return ScorecardTemplate.objects.prefetch_related(
        Prefetch("attributes", queryset=TemplateAttribute.objects.select_related("skill"))
    )


def attribute_template_id(attribute_id: int) -> int | None:
    return (
        TemplateAttribute.objects.filter(pk=attribute_id)
        .values_list("template_id", flat=True)
        .first()
    )


def team_choices() -> QuerySet[Team]:
    return Team.objects.order_by("name")


def hiring_manager_choices() -> QuerySet[User]:
    """Who may hire for a position: active managers, leaders and administrators."""
    return User.objects.filter(
        is_active=True, role__in=[Role.MANAGER, Role.LEADER, Role.ADMIN]
    ).order_by("first_name", "last_name", "username")


def interviewer_choices() -> QuerySet[User]:
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


def position_list_for(user: User) -> QuerySet[Position]:
    """Positions the user runs or hires for (recruiters: all)."""
    positions = Position.objects.select_related("team", "hiring_manager", "template")
    if runs_hiring(user):
        return positions
    return positions.filter(hiring_manager=user)


def interviews_given(user: User) -> QuerySet[Interview]:
    """The interviews `user` gives, newest first, with their scorecard and focus."""
    return (
        Interview.objects.filter(interviewer=user)
        .select_related("candidate__position", "scorecard")
        .prefetch_related("focus")
        .order_by("-scheduled_at", "-id")
    )


def candidate_list_for(user: User) -> QuerySet[Candidate]:
    candidates = Candidate.objects.select_related("position__hiring_manager", "position__team")
    if runs_hiring(user):
        return candidates
    mine = Q(position__hiring_manager=user) | Q(
        pk__in=Interview.objects.filter(interviewer=user).values("candidate_id")
    )
    return candidates.filter(mine)


def candidate_for(user: User, candidate_id: object, *, audit: bool = True) -> Candidate:
    """The candidate if the user may see them (else NotFound); the view is audited."""
    number = query_int(candidate_id)
    candidate = candidate_list_for(user).filter(pk=number).first() if number else None
    if candidate is None:
        raise NotFound("No such candidate.")
    if audit:
        audit_record(actor=user, action="hiring.candidate_viewed", target=candidate)
    return candidate


def _owes_a_scorecard(user: User, candidate: Candidate) -> bool:
    return Scorecard.objects.filter(
        interview__candidate=candidate, interview__interviewer=user, submitted_at__isnull=True
    ).exists()


def scorecards_for(user: User, candidate: Candidate) -> list[Scorecard]:
    """The scorecards of `candidate` (already visible to `user`) the user may read: their
    own, and — once they owe none — everyone's submitted ones."""
    scorecards = (
        Scorecard.objects.filter(interview__candidate=candidate)
        .select_related("interview__interviewer")
        .prefetch_related(
            Prefetch("ratings", queryset=AttributeRating.objects.select_related("attribute")),
            "interview__focus",
        )
        .order_by("interview__scheduled_at", "interview_id")
    )
    if _owes_a_scorecard(user, candidate):
        return list(scorecards.filter(interview__interviewer=user))
    return list(scorecards.filter(Q(interview__interviewer=user) | Q(submitted_at__isnull=False)))


def scorecard_for(user: User, interview_id: object) -> Scorecard:
    """One interview's scorecard, if the user may read it (else NotFound — the same
    answer whether it exists or is hidden by independence)."""
    number = query_int(interview_id)
    interview = (
        Interview.objects.select_related("candidate").filter(pk=number).first() if number else None
    )
    if interview is None:
        raise NotFound("No such scorecard.")
    try:
        candidate = candidate_for(user, interview.candidate_id, audit=False)
    except NotFound:
        raise NotFound("No such scorecard.") from None
    for scorecard in scorecards_for(user, candidate):
        if scorecard.interview_id == interview.pk:
            return scorecard
    raise NotFound("No such scorecard.")


@dataclass(frozen=True)
class GridColumn:
    interview_id: int
    interviewer: str
    kind: str
    recommendation: str


@dataclass(frozen=True)
class DecisionGrid:
    """Who said what: one column per submitted scorecard, one line per attribute of the
    position's template."""

    candidate: Candidate
    columns: tuple[GridColumn, ...]
    lines: tuple[rules.AttributeLine, ...]
    weighted: float | None
    pending: int  # scorecards not yet submitted

    @property
    def unassessed(self) -> list[rules.AttributeLine]:
        return [line for line in self.lines if not line.assessed]

    @property
    def disagreements(self) -> list[rules.AttributeLine]:
        return [line for line in self.lines if line.disagreement]


def _recommendation_label(card: Scorecard) -> str:
    """A submitted scorecard's call, which it always has (the constraint
    scorecard_submitted_has_recommendation)."""
    assert card.recommendation is not None
    return Recommendation(card.recommendation).label


def decision_grid_for(user: User, candidate_id: object) -> DecisionGrid:
    """The decision page's grid, for those who decide (recruiters, the hiring manager);
    refused (NotFound) to anyone else and to a decider who still owes a scorecard."""
    candidate = candidate_for(user, candidate_id)
    if not (runs_hiring(user) or candidate.position.hiring_manager_id == user.pk):
        raise NotFound("No such decision page.")
    if _owes_a_scorecard(user, candidate):
        raise NotFound("Submit your own scorecard first.")
    all_cards = list(
        Scorecard.objects.filter(interview__candidate=candidate)
        .select_related("interview__interviewer")
        .prefetch_related("ratings")
        .order_by("interview__scheduled_at", "interview_id")
    )
    submitted = [s for s in all_cards if s.is_submitted]
    columns = tuple(
        GridColumn(
            interview_id=s.interview_id,
            interviewer=str(s.interview.interviewer),
            kind=s.interview.get_kind_display(),
            recommendation=_recommendation_label(s),
        )
        for s in submitted
    )
    by_card = [{r.attribute_id: r.rating for r in s.ratings.all()} for s in submitted]
    lines = tuple(
        rules.AttributeLine(
            attribute_id=a.pk,
            name=a.name,
            category=a.category,
            ratings=tuple(card.get(a.pk) for card in by_card),
        )
        for a in candidate.position.template.attributes.all()
    )
    return DecisionGrid(
        candidate=candidate,
        columns=columns,
        lines=lines,
        weighted=rules.weighted_mean(lines),
        pending=len(all_cards) - len(submitted),
    )


def candidate_export(user: User, candidate_id: object) -> dict:
    """Everything stored about one candidate, for a request to see their data (recruiters
    and administrators; NotFound for others). The export is audited."""
    candidate = candidate_for(user, candidate_id, audit=False)
    if not runs_hiring(user):
        raise NotFound("No such candidate.")
    audit_record(actor=user, action="hiring.candidate_exported", target=candidate)
    interviews = candidate.interviews.select_related("interviewer", "scorecard").prefetch_related(
        "focus", "scorecard__ratings__attribute"
    )
    return {
        "candidate": {
            field: str(getattr(candidate, field) or "")
            for field in (
                "name", "email", "phone", "source", "notes", "cv_url", "stage", "stage_reason",
                "stage_changed_at", "created_at", "anonymised_at",
            )
        },
        "position": candidate.position.title,
        "interviews": [
            {
                "kind": i.kind,
                "scheduled_at": i.scheduled_at.isoformat(),
                "interviewer": str(i.interviewer),
                "focus": [a.name for a in i.focus.all()],
                "scorecard": {
                    "submitted_at": i.scorecard.submitted_at.isoformat()
                    if i.scorecard.submitted_at else None,
                    "recommendation": i.scorecard.get_recommendation_display() or None,
                    "summary": i.scorecard.summary,
                    "ratings": [
                        {"attribute": r.attribute.name, "rating": r.get_rating_display(),
                         "evidence": r.evidence}
                        for r in i.scorecard.ratings.all()
                    ],
                },
            }
            for i in interviews
        ],
    }  # fmt: skip


def suggested_full_quota(team_id: int | None) -> object | None:
    """What a new hire in this team is suggested as a full monthly quota: the median of
    the team's reps' quotas this month (forecasting), in the default currency."""
    return forecasting_selectors.typical_rep_monthly_quota(
        team_id, organisation.current().today(), organisation.current().default_currency
    )


@dataclass(frozen=True)
class Onboarding:
    plan: OnboardingPlan
    tasks: list[OnboardingTask]
    today: dt.date

    @property
    def overdue(self) -> list[OnboardingTask]:
        return [t for t in self.tasks if t.done_at is None and t.due_on < self.today]

    @property
    def done(self) -> int:
        return sum(1 for t in self.tasks if t.done_at is not None)


def own_onboarding_plan(user: User) -> OnboardingPlan | None:
    return OnboardingPlan.objects.filter(rep=user).first()


def first_one_on_ones_focus(rep_id: int) -> FocusSuggestion | None:
    """A new hire's focus skills for their first 1:1s — the weakest selling skills on
    their interview scorecards, kept on their onboarding plan — while they are in their
    first COACHING_NEW_REP_DAYS (the weekly-1:1 period); registered with coaching. One
    query."""
    today = organisation.current().today()
    since = today - dt.timedelta(days=settings.COACHING_NEW_REP_DAYS)
    skills = (
        Skill.objects.filter(
            is_active=True,
            pk__in=OnboardingPlan.focus_skills.through.objects.filter(
                onboardingplan__rep_id=rep_id,
                onboardingplan__started_on__gt=since,
                onboardingplan__started_on__lte=today,
            ).values("skill_id"),
        )
        .order_by("name")
        .values_list("pk", flat=True)
    )
    found = tuple(skills)
    if not found:
        return None
    return FocusSuggestion(found, "the weakest selling skills on their interview scorecards")


def onboarding_for(user: User, rep_id: object) -> Onboarding:
    """A new hire's onboarding plan: for them, their manager, leaders and administrators
    (NotFound for anyone else, or when they have none)."""
    number = query_int(rep_id)
    plan = (
        OnboardingPlan.objects.filter(access.owner_scope_q(user, field="rep"), rep_id=number)
        .select_related("rep__team", "template")
        .prefetch_related("focus_skills")
        .first()
        if number
        else None
    )
    if plan is None:
        raise NotFound("No onboarding plan here.")
    tasks = list(plan.tasks.select_related("done_by"))
    return Onboarding(plan=plan, tasks=tasks, today=organisation.current().today())


def onboarding_plan_list_for(user: User, *, rep_id: int | None = None) -> QuerySet[OnboardingPlan]:
    """The onboarding plans the user may see — as onboarding_for: their own; a manager's
    also their teams' new hires; leaders and administrators all — latest start first,
    with their rep, template, focus skills and tasks (wrap a page with `onboardings`)."""
    plans = (
        OnboardingPlan.objects.filter(access.owner_scope_q(user, field="rep"))
        .select_related("rep", "template")
        .prefetch_related("focus_skills", "tasks")
        .order_by("-started_on", "rep_id")
    )
    return plans if rep_id is None else plans.filter(rep_id=rep_id)


def onboardings(plans: Iterable[OnboardingPlan]) -> list[Onboarding]:
    """Plans from onboarding_plan_list_for (tasks prefetched) as Onboarding, today being
    the organisation's (what is overdue, as on the plan's page)."""
    today = organisation.current().today()
    return [Onboarding(plan=p, tasks=list(p.tasks.all()), today=today) for p in plans]


QUALIFIED_PCT = 60  # "first qualification ≥ 60 %"


@dataclass(frozen=True)
class RampRow:
    rep: User
    started_on: dt.date
    cohort: str  # the start quarter, e.g. "2026-Q3"
    days: dict[str, int | None]  # per rules.RAMP_MILESTONES; None: not reached yet


@dataclass(frozen=True)
class Cohort:
    label: str
    hires: int
    median_days: dict[str, float | None]
    reached: dict[str, int]


def ramp_for(user: User) -> tuple[list[RampRow], list[Cohort]]:
    """The new hires the user may see (theirs for a manager; everyone for leaders and
    admins), each with the days from their start to their first opportunity,
    qualification ≥ 60 %, approved proposal and win — from their real activity — and
    the cohorts by start quarter with the median days of those who got there."""
    plans = list(
        OnboardingPlan.objects.filter(access.owner_scope_q(user, field="rep"))
        .select_related("rep")
        .order_by("-started_on", "rep_id")
    )
    ids = [p.rep_id for p in plans]
    firsts = pipeline_selectors.ramp_firsts(ids, qualified_pct=QUALIFIED_PCT)
    approved = proposal_selectors.first_approved_by_owner(ids)
    rows = []
    for plan in plans:
        f = firsts[plan.rep_id]
        moments = {
            "opportunity": f.opportunity, "qualified": f.qualified,
            "proposal": approved.get(plan.rep_id), "won": f.won,
        }  # fmt: skip
        rows.append(
            RampRow(
                rep=plan.rep,
                started_on=plan.started_on,
                cohort=f"{plan.started_on.year}-Q{(plan.started_on.month - 1) // 3 + 1}",
                days={k: rules.days_since(plan.started_on, v) for k, v in moments.items()},
            )
        )
    cohorts = []
    for label in sorted({r.cohort for r in rows}, reverse=True):
        members = [r for r in rows if r.cohort == label]
        reached = {
            k: [d for r in members if (d := r.days[k]) is not None] for k in rules.RAMP_MILESTONES
        }
        cohorts.append(
            Cohort(
                label=label,
                hires=len(members),
                median_days={k: rules.median(v) for k, v in reached.items()},
                reached={k: len(v) for k, v in reached.items()},
            )
        )
    return rows, cohorts


QUALITY_MIN_HIRES = 5  # fewer hires with results: "not enough data"
RESULTS_DAYS = 180  # two quarters of results before a hire counts


@dataclass(frozen=True)
class AttributeQuality:
    """Does an attribute's rating at interview predict later attainment?"""

    name: str
    category: str
    hires: int  # with both a rating and results
    correlation: float | None  # Spearman's rho; None: not enough data

    @property
    def enough_data(self) -> bool:
        return self.correlation is not None


def quality_of_hire(user: User) -> list[AttributeQuality]:
    """For hires the user may see with at least two quarters of results: each scorecard
    attribute's mean rating against their attainment (won amount ÷ quota over the whole
    fiscal periods since the month after their start, up to the last complete quarter), as
    a rank correlation with its count; "not enough data" below QUALITY_MIN_HIRES. Reads
    grow with the number of distinct start months, not with hires."""
    org = organisation.current()
    today = org.today()
    quarter_start = dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    end = quarter_start - dt.timedelta(days=1)  # the last complete quarter's last day
    hires = list(
        Candidate.objects.filter(
            hired_user__isnull=False,
            hired_user__in=User.objects.filter(access.visible_users_q(user)),
        ).select_related("hired_user")
    )
    # Hires starting in the same month share a window: two queries per start month.
    by_start: dict[dt.date, list[tuple[Candidate, int]]] = {}  # (hire, their account's id)
    for hire in hires:
        person = hire.hired_user
        assert person is not None  # hired_user__isnull=False above
        started = person.started_on
        if started is None:
            continue
        start = (
            started
            if started.day == 1
            else (started.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        )
        if (end - start).days + 1 >= RESULTS_DAYS:
            by_start.setdefault(start, []).append((hire, person.pk))
    attainment: dict[int, float] = {}
    for start, group in by_start.items():
        people = [person_id for _, person_id in group]
        quotas = forecasting_selectors.rep_quotas_within(
            people, start=start, end=end, currency=org.default_currency
        )
        won = pipeline_selectors.won_amounts_by_owner(
            people, starts_at=org.start_of(start),
            ends_before=org.start_of(end + dt.timedelta(days=1)),
            currency=org.default_currency,
        )  # fmt: skip
        for hire, person_id in group:
            quota = quotas.get(person_id)
            if quota:
                attainment[hire.pk] = float(won.get(person_id, 0)) / float(quota)
    ratings: dict[int, dict[int, list[int]]] = {}
    names: dict[int, tuple[str, str]] = {}
    for r in AttributeRating.objects.filter(
        scorecard__interview__candidate_id__in=list(attainment),
        scorecard__submitted_at__isnull=False,
    ).select_related("attribute", "scorecard__interview"):
        candidate_id = r.scorecard.interview.candidate_id
        ratings.setdefault(r.attribute_id, {}).setdefault(candidate_id, []).append(r.rating)
        names[r.attribute_id] = (r.attribute.name, r.attribute.category)
    found = []
    for attribute_id, by_hire in ratings.items():
        pairs = [(sum(v) / len(v), attainment[c]) for c, v in by_hire.items()]
        rho = (
            rules.spearman([p[0] for p in pairs], [p[1] for p in pairs])
            if len(pairs) >= QUALITY_MIN_HIRES
            else None
        )
        name, category = names[attribute_id]
        found.append(
            AttributeQuality(name=name, category=category, hires=len(pairs), correlation=rho)
        )
    found.sort(key=lambda q: (not q.enough_data, -abs(q.correlation or 0), q.name))
    return found


# --- onboarding templates ------------------------------------------------------------


def onboarding_template_rows() -> list[tuple[OnboardingTemplate, list[tuple[str, int]]]]:
    """Every onboarding template, the default first, with its task count and how many
    tasks fall in each period — one query, however many templates and tasks."""
    spread = {
        f"period_{i}": Count(
            "tasks",
            filter=Q(tasks__due_day__gte=first)
            & (Q(tasks__due_day__lte=last) if last is not None else Q()),
        )
        for i, (_, first, last) in enumerate(rules.ONBOARDING_PERIODS)
    }
    templates = OnboardingTemplate.objects.annotate(task_count=Count("tasks"), **spread)
    return [
        (
            t,
            [
                (label, getattr(t, f"period_{i}"))
                for i, (label, *_) in enumerate(rules.ONBOARDING_PERIODS)
            ],
        )
        for t in templates.order_by("-is_default", "name")
    ]


def onboarding_template(pk: object) -> OnboardingTemplate | None:
    return OnboardingTemplate.objects.filter(pk=query_int(pk) or 0).first()


def onboarding_template_task(pk: object) -> OnboardingTemplateTask | None:
    return (
        OnboardingTemplateTask.objects.select_related("template")
        .filter(pk=query_int(pk) or 0)
        .first()
    )
