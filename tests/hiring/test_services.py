"""Hiring's writes: what each refuses (and that nothing changed then), and what a
success leaves in the database."""

from __future__ import annotations

import pytest

from coaching.models import Skill
from hiring import services
from hiring.models import AttributeRating, Candidate, Position, Scorecard, TemplateAttribute
from salesops.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesops.models import AuditEvent
from tests.hiring.conftest import fill, schedule


def test_only_recruiters_edit_templates_and_attributes_are_checked(
    template, rep, manager, admin_user
):
    for who in (rep, manager):
        with pytest.raises(PermissionDenied):
            services.template_create(actor=who, name="SDR")
    with pytest.raises(ValidationFailed) as refused:
        services.template_attribute_add(
            actor=admin_user, template_id=template.pk, category="charisma", name="Discovery"
        )
    assert set(refused.value.details) == {"category", "name"}  # unknown, and a repeat
    skill = Skill.objects.create(
        name="Value articulation", level_1="a", level_2="b", level_3="c", level_4="d",
        level_5="e",
    )  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        services.template_attribute_add(
            actor=admin_user, template_id=template.pk, category="aptitude", name="Logic",
            skill=skill.pk,
        )  # fmt: skip
    assert "skill" in refused.value.details
    assert template.attributes.count() == 5
    added = services.template_attribute_add(
        actor=admin_user, template_id=template.pk, category="selling_skill",
        name="Value articulation", skill=skill.pk,
    )  # fmt: skip
    assert TemplateAttribute.objects.get(pk=added.pk).skill == skill and added.order == 5


def test_an_attribute_in_use_is_reworded_not_removed(template, candidate, recruiter, interviewer_a):
    schedule(recruiter, candidate, interviewer_a, "Discovery")
    discovery = template.attributes.get(name="Discovery")
    with pytest.raises(Conflict):
        services.template_attribute_remove(actor=recruiter, attribute_id=discovery.pk)
    assert TemplateAttribute.objects.filter(pk=discovery.pk).exists()
    unused = template.attributes.get(name="Customer first")
    services.template_attribute_remove(actor=recruiter, attribute_id=unused.pk)
    assert not TemplateAttribute.objects.filter(pk=unused.pk).exists()


def test_a_position_needs_a_real_hiring_manager_and_a_template_with_attributes(
    recruiter, template, team_a, rep, admin_user
):
    empty = services.template_create(actor=admin_user, name="Empty")
    with pytest.raises(ValidationFailed) as refused:
        services.position_create(
            actor=recruiter, title=" ", team=team_a.pk, hiring_manager=rep.pk, template=empty.pk
        )
    assert set(refused.value.details) == {"title", "hiring_manager", "template"}
    assert not Position.objects.exists()


def test_candidates_are_added_by_recruiters_and_the_hiring_manager_only(
    position, manager, other_manager, rep
):
    for outsider in (other_manager, rep):
        with pytest.raises(PermissionDenied):
            services.candidate_create(actor=outsider, position_id=position.pk, name="Kim")
    with pytest.raises(ValidationFailed) as refused:
        services.candidate_create(
            actor=manager, position_id=position.pk, name="Kim", email="kim@", cv_url="ftp://x"
        )
    assert set(refused.value.details) == {"email", "cv_url"}
    assert not Candidate.objects.exists()
    kim = services.candidate_create(actor=manager, position_id=position.pk, name="  Kim Lee ")
    assert Candidate.objects.get(pk=kim.pk).name == "Kim Lee" and kim.stage == "applied"


def test_a_rejection_needs_a_reason_and_ends_the_process(candidate, manager):
    with pytest.raises(ValidationFailed) as refused:
        services.candidate_move(actor=manager, candidate_id=candidate.pk, stage="rejected")
    assert "reason" in refused.value.details
    assert Candidate.objects.get(pk=candidate.pk).stage == "applied"
    services.candidate_move(
        actor=manager, candidate_id=candidate.pk, stage="rejected", reason="Chose to stay"
    )
    stored = Candidate.objects.get(pk=candidate.pk)
    assert (stored.stage, stored.stage_reason, stored.decided_by) == (
        "rejected", "Chose to stay", manager,
    )  # fmt: skip
    with pytest.raises(Conflict):  # hiring — or moving — a rejected candidate
        services.candidate_move(actor=manager, candidate_id=candidate.pk, stage="offer")
    assert Candidate.objects.get(pk=candidate.pk).stage == "rejected"


def test_an_interview_focuses_on_the_positions_own_attributes(
    candidate, recruiter, interviewer_a, admin_user
):
    other = services.template_create(actor=admin_user, name="SDR")
    foreign = services.template_attribute_add(
        actor=admin_user, template_id=other.pk, category="attitude", name="Grit"
    )
    with pytest.raises(ValidationFailed) as refused:
        services.interview_schedule(
            actor=recruiter, candidate_id=candidate.pk, interviewer=interviewer_a.pk,
            kind="role_play", scheduled_at=None, focus=[foreign.pk],
        )  # fmt: skip
    assert set(refused.value.details) == {"scheduled_at", "focus"}
    interview = schedule(recruiter, candidate, interviewer_a, "Discovery", "Coachability")
    assert {a.name for a in interview.focus.all()} == {"Discovery", "Coachability"}
    assert Scorecard.objects.get(interview=interview).submitted_at is None
    assert Candidate.objects.get(pk=candidate.pk).stage == "interviews"


def test_a_scorecard_is_its_interviewers_and_is_frozen_once_submitted(
    candidate, recruiter, interviewer_a, interviewer_b, manager
):
    interview = schedule(recruiter, candidate, interviewer_a, "Discovery", "Coachability")
    discovery = interview.focus.get(name="Discovery")
    for someone_else in (interviewer_b, manager):  # not their interview: it does not exist
        with pytest.raises(NotFound):
            fill(someone_else, interview, 4)
    with pytest.raises(ValidationFailed) as refused:
        services.scorecard_save(
            actor=interviewer_a, interview_id=interview.pk,
            ratings={discovery.pk: {"rating": 6, "evidence": "x"}, 999999: {"rating": 3}},
            recommendation=3,
        )  # fmt: skip
    assert set(refused.value.details) == {
        f"ratings.{discovery.pk}", "ratings.999999", "recommendation",
    }  # fmt: skip
    assert not AttributeRating.objects.exists()
    services.scorecard_save(
        actor=interviewer_a, interview_id=interview.pk,
        ratings={discovery.pk: {"rating": 4, "evidence": ""}}, recommendation=4,
    )  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:  # Coachability unrated, no evidence
        services.scorecard_submit(actor=interviewer_a, interview_id=interview.pk)
    assert len(refused.value.details) == 2
    assert Scorecard.objects.get(interview=interview).submitted_at is None
    fill(interviewer_a, interview, 4)
    services.scorecard_submit(actor=interviewer_a, interview_id=interview.pk)
    stored = Scorecard.objects.get(interview=interview)
    assert stored.submitted_at is not None and stored.recommendation == 4
    assert sorted(stored.ratings.values_list("rating", flat=True)) == [4, 4]
    for again in (
        lambda: services.scorecard_submit(actor=interviewer_a, interview_id=interview.pk),
        lambda: fill(interviewer_a, interview, 1),
    ):
        with pytest.raises(Conflict):
            again()
    assert sorted(
        Scorecard.objects.get(interview=interview).ratings.values_list("rating", flat=True)
    ) == [4, 4]
    assert AuditEvent.objects.filter(action="hiring.scorecard_submitted").count() == 1
