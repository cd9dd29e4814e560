"""A sales team hiring an account executive: a scorecard template with an attribute of
every category, a position, a candidate and two interviews with the team's colleagues."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from coaching.models import Skill
from hiring import services
from hiring.models import Candidate, Interview, Position, ScorecardTemplate
from salesops.models import Role, User
from tests.factories import UserFactory


@pytest.fixture
def recruiter(db):
    return UserFactory(username="recruiter", role=Role.REP, is_recruiter=True)


@pytest.fixture
def template(admin_user) -> ScorecardTemplate:
    template = services.template_create(actor=admin_user, name="Account executive")
    for category, name in [
        ("aptitude", "Learning agility"),
        ("attitude", "Coachability"),
        ("culture_fit", "Customer first"),
        ("selling_skill", "Discovery"),
        ("track_record", "Past attainment"),
    ]:
        services.template_attribute_add(
            actor=admin_user, template_id=template.pk, category=category, name=name,
            guidance=f"What good {name.lower()} looks like.", questions="Tell me about a time…",
        )  # fmt: skip
    return template


@pytest.fixture
def position(recruiter, template, team_a, manager) -> Position:
    return services.position_create(
        actor=recruiter, title="Account executive", team=team_a.pk,
        hiring_manager=manager.pk, template=template.pk,
    )  # fmt: skip


@pytest.fixture
def candidate(recruiter, position) -> Candidate:
    return services.candidate_create(
        actor=recruiter, position_id=position.pk, name="Dana Fischer",
        email="dana@example.com", source="Referral",
    )  # fmt: skip


@pytest.fixture
def interviewer_a(team_a) -> User:
    return UserFactory(username="ines", role=Role.REP, team=team_a)


@pytest.fixture
def interviewer_b(team_a) -> User:
    return UserFactory(username="bruno", role=Role.REP, team=team_a)


def schedule(actor: User, candidate: Candidate, interviewer: User, *names: str) -> Interview:
    focus = [a.pk for a in candidate.position.template.attributes.filter(name__in=names)]
    return services.interview_schedule(
        actor=actor, candidate_id=candidate.pk, interviewer=interviewer.pk, kind="role_play",
        scheduled_at=timezone.now() + dt.timedelta(days=1), focus=focus,
    )  # fmt: skip


def fill(interviewer: User, interview: Interview, rating: int, *, recommendation: int = 4) -> None:
    services.scorecard_save(
        actor=interviewer, interview_id=interview.pk,
        ratings={a.pk: {"rating": rating, "evidence": "Asked three layers deep."}
                 for a in interview.focus.all()},
        recommendation=recommendation, summary="Clear thinker.",
    )  # fmt: skip


@pytest.fixture
def hired(candidate, recruiter, manager, interviewer_a, interviewer_b, template, admin_user):
    """Dana hired by the hiring manager to start on Monday 4 January 2027, after two
    scorecards rating her selling skills: discovery 4.5, value articulation 2.5."""
    skills = {s.name: s for s in Skill.objects.all()}
    discovery = template.attributes.get(name="Discovery")
    services.template_attribute_update(
        actor=admin_user, attribute_id=discovery.pk, skill=skills["Discovery"].pk
    )
    value = services.template_attribute_add(
        actor=admin_user, template_id=template.pk, category="selling_skill",
        name="Value articulation", skill=skills["Business value articulation"].pk,
    )  # fmt: skip
    for who, ratings in ((interviewer_a, (4, 2)), (interviewer_b, (5, 3))):
        interview = schedule(recruiter, candidate, who, "Discovery", "Value articulation")
        services.scorecard_save(
            actor=who, interview_id=interview.pk, recommendation=4,
            ratings={discovery.pk: {"rating": ratings[0], "evidence": "Seen"},
                     value.pk: {"rating": ratings[1], "evidence": "Seen"}},
        )  # fmt: skip
        services.scorecard_submit(actor=who, interview_id=interview.pk)
    services.candidate_move(actor=manager, candidate_id=candidate.pk, stage="offer")
    services.candidate_hire(
        actor=manager, candidate_id=candidate.pk, started_on="2027-01-04", reason="Yes"
    )
    candidate.refresh_from_db()
    return candidate.hired_user
