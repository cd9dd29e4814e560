"""Hiring's writes: what each refuses (and that nothing changed then), and what a
success leaves in the database."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from coaching.models import Skill
from hiring import selectors, services
from hiring.models import AttributeRating, Candidate, Position, Scorecard, TemplateAttribute
from salesops.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesops.models import AuditEvent, User
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


def _at_offer(candidate, manager):
    services.candidate_move(actor=manager, candidate_id=candidate.pk, stage="offer")


def test_hiring_creates_the_reps_account_and_invites_them(
    candidate, manager, team_a, mailoutbox, django_capture_on_commit_callbacks
):
    _at_offer(candidate, manager)
    with django_capture_on_commit_callbacks(execute=True):
        hired = services.candidate_hire(
            actor=manager, candidate_id=candidate.pk, started_on="2027-01-04",
            reason="Strongest discovery we saw",
        )  # fmt: skip
    person = User.objects.get(pk=hired.hired_user_id)
    assert (person.first_name, person.last_name, person.email) == (
        "Dana", "Fischer", "dana@example.com",
    )  # fmt: skip
    assert (person.role, person.team, str(person.started_on)) == ("rep", team_a, "2027-01-04")
    assert not person.has_usable_password()
    stored = Candidate.objects.get(pk=candidate.pk)
    assert (stored.stage, stored.stage_reason, stored.decided_by) == (
        "hired", "Strongest discovery we saw", manager,
    )  # fmt: skip
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["dana@example.com"]
    body = mailoutbox[0].body
    assert "/reset/" in body or "password" in body.lower()
    assert "secret" not in body.lower()  # a link to set one, never a password


def test_a_hire_is_refused_without_what_it_needs_and_creates_nothing(
    candidate, manager, recruiter, interviewer_a, rep
):
    users = User.objects.count()
    with pytest.raises(Conflict):  # not at the offer stage yet
        services.candidate_hire(
            actor=manager, candidate_id=candidate.pk, started_on="2027-01-04", reason="Yes"
        )
    _at_offer(candidate, manager)
    with pytest.raises(PermissionDenied):  # a recruiter runs the process, the manager decides
        services.candidate_hire(
            actor=recruiter, candidate_id=candidate.pk, started_on="2027-01-04", reason="Yes"
        )
    with pytest.raises(ValidationFailed) as refused:
        services.candidate_hire(
            actor=manager, candidate_id=candidate.pk, started_on="4 Jan", reason=" "
        )
    assert set(refused.value.details) == {"started_on", "reason"}
    Candidate.objects.filter(pk=candidate.pk).update(email=rep.email or "rep@example.com")
    User.objects.filter(pk=rep.pk).update(email="rep@example.com")
    with pytest.raises(ValidationFailed) as refused:  # a colleague has this email
        services.candidate_hire(
            actor=manager, candidate_id=candidate.pk, started_on="2027-01-04", reason="Yes"
        )
    assert "email" in refused.value.details
    assert User.objects.count() == users
    assert Candidate.objects.get(pk=candidate.pk).stage == "offer"

    services.candidate_move(
        actor=manager, candidate_id=candidate.pk, stage="rejected", reason="Took another offer"
    )
    with pytest.raises(Conflict) as closed:  # hiring a rejected candidate
        services.candidate_hire(
            actor=manager, candidate_id=candidate.pk, started_on="2027-01-04", reason="Yes"
        )
    assert "rejected" in closed.value.message
    assert User.objects.count() == users


def test_candidates_past_the_retention_period_are_anonymised_once(
    candidate, recruiter, position, manager, interviewer_a, settings
):
    settings.HIRING_ANONYMISE_AFTER_DAYS = 180
    interview = schedule(recruiter, candidate, interviewer_a, "Discovery")
    fill(interviewer_a, interview, 4)
    services.scorecard_submit(actor=interviewer_a, interview_id=interview.pk)
    services.candidate_move(
        actor=manager, candidate_id=candidate.pk, stage="rejected", reason="Salary expectations"
    )
    recent = services.candidate_create(
        actor=recruiter, position_id=position.pk, name="Recent Reject", email="r@example.com"
    )
    services.candidate_move(
        actor=manager, candidate_id=recent.pk, stage="withdrawn", reason="Moved"
    )
    active = services.candidate_create(
        actor=recruiter, position_id=position.pk, name="Still Applying", email="s@example.com"
    )
    Candidate.objects.filter(pk__in=[candidate.pk, active.pk]).update(
        stage_changed_at=timezone.now() - dt.timedelta(days=181)
    )
    assert services.candidates_anonymise() == 1
    gone = Candidate.objects.get(pk=candidate.pk)
    assert gone.name == f"Anonymised candidate #{candidate.pk}" and gone.anonymised_at
    assert (gone.email, gone.source, gone.stage_reason) == ("", "", "(removed)")
    rating = AttributeRating.objects.get(scorecard__interview=interview)
    assert (rating.rating, rating.evidence) == (4, "")  # the statistic stays, the words go
    assert Scorecard.objects.get(interview=interview).summary == ""
    assert (
        not AuditEvent.objects.filter(target_id=candidate.pk, target_type="hiring.candidate")
        .exclude(data={})
        .exists()
    )
    assert Candidate.objects.get(pk=recent.pk).email == "r@example.com"  # within 180 days
    assert Candidate.objects.get(pk=active.pk).email == "s@example.com"  # still in process
    assert services.candidates_anonymise() == 0  # idempotent


def test_erasure_on_request_and_export(candidate, recruiter, manager, interviewer_a):
    interview = schedule(recruiter, candidate, interviewer_a, "Discovery")
    fill(interviewer_a, interview, 5)
    exported = selectors.candidate_export(recruiter, candidate.pk)
    assert exported["candidate"]["email"] == "dana@example.com"
    assert exported["interviews"][0]["scorecard"]["ratings"][0]["evidence"]
    with pytest.raises(NotFound):  # the hiring manager sees the candidate, not the export
        selectors.candidate_export(manager, candidate.pk)
    with pytest.raises(PermissionDenied):
        services.candidate_erase(actor=manager, candidate_id=candidate.pk)
    assert Candidate.objects.get(pk=candidate.pk).anonymised_at is None
    erased = services.candidate_erase(actor=recruiter, candidate_id=candidate.pk)
    assert erased.stage == "withdrawn" and erased.email == "" and erased.anonymised_at
    assert AttributeRating.objects.get().evidence == ""
