"""coaching.services: the skills framework (admins) and skill assessments (managers of
the rep, leaders). Each test asserts the database, also after a refusal."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from coaching import services
from coaching.models import Skill, SkillAssessment
from salesops.exceptions import NotFound, PermissionDenied, ValidationFailed
from salesops.models import AuditEvent, Notification
from tests.coaching.conftest import assess
from tests.factories import TeamFactory, UserFactory

LEVELS = {f"level_{n}": f"What level {n} looks like." for n in range(1, 6)}


# --- the skills framework --------------------------------------------------------------


def test_seed_has_the_eight_skills_with_levels_and_guides(skills):
    names = [s.name for s in skills]
    assert names[0] == "Prospecting" and len(names) == 8
    assert "Proposal and executive summary writing" in names
    for skill in skills:
        assert all(text for _, text in skill.levels)
        assert skill.question_list and skill.good_list and skill.mistake_list


def test_admin_creates_a_skill_last(admin_user, skills):
    skill = services.skill_create(actor=admin_user, name="Account planning", **LEVELS)
    skill.refresh_from_db()
    assert skill.order == max(s.order for s in skills) + 1
    assert skill.level_3 == "What level 3 looks like." and skill.is_active
    assert AuditEvent.objects.filter(action="skill.created", target_id=skill.pk).exists()


def test_non_admin_cannot_change_the_framework(manager, leader, skills):
    before = Skill.objects.count()
    for actor in (manager, leader):
        with pytest.raises(PermissionDenied):
            services.skill_create(actor=actor, name="Account planning", **LEVELS)
        with pytest.raises(PermissionDenied):
            services.skill_update(actor=actor, skill_id=skills[0].pk, name="Renamed")
    assert Skill.objects.count() == before
    assert Skill.objects.get(pk=skills[0].pk).name == "Prospecting"


def test_create_refuses_a_taken_name_and_missing_levels(admin_user, skills):
    before = Skill.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        services.skill_create(actor=admin_user, name="prospecting", level_1="Only one")
    assert "name" in exc.value.details and "level_5" in exc.value.details
    with pytest.raises(ValidationFailed) as exc:
        services.skill_create(actor=admin_user, name="X", colour="red", **LEVELS)
    assert "colour" in exc.value.details
    assert Skill.objects.count() == before


def test_update_and_deactivate(admin_user, skills):
    skill = services.skill_update(
        actor=admin_user, skill_id=skills[0].pk, is_active=False, questions="Why now?"
    )
    skill.refresh_from_db()
    assert not skill.is_active and skill.question_list == ["Why now?"]
    with pytest.raises(ValidationFailed):
        services.skill_update(actor=admin_user, skill_id=skills[1].pk, level_2="  ")
    assert Skill.objects.get(pk=skills[1].pk).level_2
    with pytest.raises(NotFound):
        services.skill_update(actor=admin_user, skill_id=10**9, name="Nope")


# --- assessments -------------------------------------------------------------------------


def test_manager_assesses_a_rep_of_their_team(manager, rep, skills):
    a = services.skill_assessment_create(
        actor=manager, rep_id=rep.pk, skill_id=skills[1].pk, level=3, evidence="Good call"
    )
    row = SkillAssessment.objects.get()
    assert (row.pk, row.rep, row.skill, row.level, row.assessor) == (
        a.pk, rep, skills[1], 3, manager,
    )  # fmt: skip
    assert row.assessed_on == timezone.localdate() and row.evidence == "Good call"
    assert AuditEvent.objects.filter(action="skill_assessment.created", target_id=a.pk).exists()
    assert Notification.objects.filter(recipient=rep).count() == 1


def test_manager_of_a_parent_team_assesses_sub_team_members(manager, team_a, skills):
    sub = TeamFactory(name="Team A1", parent=team_a)
    member = UserFactory(username="sub_rep", team=sub)
    services.skill_assessment_create(
        actor=manager, rep_id=member.pk, skill_id=skills[0].pk, level=2
    )
    assert SkillAssessment.objects.filter(rep=member).count() == 1


def test_leader_assesses_anyone(leader, other_rep, skills):
    services.skill_assessment_create(
        actor=leader, rep_id=other_rep.pk, skill_id=skills[0].pk, level=5, evidence="Taught it"
    )
    assert SkillAssessment.objects.get().assessor == leader


def _refused(exc_type, **kwargs):
    with pytest.raises(exc_type) as exc:
        services.skill_assessment_create(**kwargs)
    assert SkillAssessment.objects.count() == 0
    assert not AuditEvent.objects.filter(action="skill_assessment.created").exists()
    assert Notification.objects.count() == 0
    return exc.value


def test_a_rep_cannot_assess(rep, teammate, skills):
    exc = _refused(PermissionDenied, actor=rep, rep_id=teammate.pk, skill_id=skills[0].pk, level=3)
    assert "manager" in exc.message


def test_rep_outside_the_managers_teams_is_not_found(manager, other_rep, skills):
    _refused(NotFound, actor=manager, rep_id=other_rep.pk, skill_id=skills[0].pk, level=3)
    _refused(NotFound, actor=manager, rep_id="abc", skill_id=skills[0].pk, level=3)


def test_nobody_assesses_themselves(manager, skills):
    _refused(PermissionDenied, actor=manager, rep_id=manager.pk, skill_id=skills[0].pk, level=3)


@pytest.mark.parametrize("level", [0, 6, -1, "three", None, ""])
def test_level_outside_1_to_5_is_refused(manager, rep, skills, level):
    exc = _refused(
        ValidationFailed, actor=manager, rep_id=rep.pk, skill_id=skills[0].pk, level=level
    )
    assert "level" in exc.details


def test_unknown_or_inactive_skill_is_refused(manager, rep, skills, admin_user):
    exc = _refused(ValidationFailed, actor=manager, rep_id=rep.pk, skill_id=10**9, level=2)
    assert exc.details["skill"] == ["Choose a skill of the skills framework."]
    services.skill_update(actor=admin_user, skill_id=skills[0].pk, is_active=False)
    _refused(ValidationFailed, actor=manager, rep_id=rep.pk, skill_id=skills[0].pk, level=2)


def test_future_date_is_refused(manager, rep, skills):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    exc = _refused(
        ValidationFailed,
        actor=manager, rep_id=rep.pk, skill_id=skills[0].pk, level=2, assessed_on=tomorrow,
    )  # fmt: skip
    assert "future" in exc.details["assessed_on"][0]
    _refused(
        ValidationFailed,
        actor=manager, rep_id=rep.pk, skill_id=skills[0].pk, level=2, assessed_on="31/12/2020",
    )  # fmt: skip


def test_high_levels_need_evidence(manager, rep, skills):
    exc = _refused(
        ValidationFailed, actor=manager, rep_id=rep.pk, skill_id=skills[0].pk, level=4,
        evidence="   ",
    )  # fmt: skip
    assert "Level 4 needs evidence" in exc.details["evidence"][0]


def test_every_problem_is_reported_at_once(manager, rep):
    exc = _refused(
        ValidationFailed, actor=manager, rep_id=rep.pk, skill_id=10**9, level=9,
        assessed_on=timezone.localdate() + dt.timedelta(days=3),
    )  # fmt: skip
    assert set(exc.details) == {"skill", "level", "assessed_on"}


def test_database_constraints_back_the_rules(manager, rep, skills):
    for kwargs in ({"level": 6}, {"level": 4, "evidence": ""}, {"level": 2, "rep": manager}):
        data = {"rep": rep, "skill": skills[0], "assessor": manager, "evidence": "x"} | kwargs
        with pytest.raises(IntegrityError), transaction.atomic():
            SkillAssessment.objects.create(assessed_on=timezone.localdate(), **data)
    assert SkillAssessment.objects.count() == 0


def test_history_is_kept(manager, rep, skills):
    assess(rep, skills[0], 2, by=manager, days_ago=30)
    services.skill_assessment_create(actor=manager, rep_id=rep.pk, skill_id=skills[0].pk, level=3)
    assert list(SkillAssessment.objects.values_list("level", flat=True)) == [3, 2]
