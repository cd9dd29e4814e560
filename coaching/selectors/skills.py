"""The skills framework, the assessments of the people a user may see, and the skills
matrix (each rep's latest level per skill, with its trend)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, TypedDict

from django.db.models import (
    Case,
    CharField,
    F,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import Lead, RowNumber
from django.http import Http404

from coaching.models import (
    Skill,
    SkillAssessment,
)
from salesops import access
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


class LevelRow(TypedDict):
    """One row of `latest_levels`: a rep's latest level on a skill, the one before it
    (None for the first assessment), the trend between them and the latest one's date."""

    rep_id: int
    skill_id: int
    level: int
    previous: int | None
    trend: str
    assessed_on: dt.date


def latest_levels(reps: QuerySet[User]) -> QuerySet[SkillAssessment, LevelRow]:
    """Per rep (of `reps`) and active skill: the latest level, the one before it and the
    trend between them (up/down/same, or new with no earlier one) — one query, with the
    latest two found by window functions over the (rep, skill, -assessed_on, -id) index."""
    window: dict[str, Any] = {
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
            assert managed is not None  # set above for a manager
            reps = reps.filter(team_id__in=managed)
    if team_id not in (None, ""):
        team, ids = picked_team(teams, team_id)
        reps = reps.filter(team_id__in=ids)
    reps = reps.order_by("first_name", "last_name", "username")
    skills = list(skill_list(active_only=True))
    rep_list = list(reps.select_related("team"))
    cells: dict[tuple[int, int], LevelRow] = {
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
