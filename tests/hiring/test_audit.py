"""A draft scorecard's save is audited without the evidence's words; a refused save records
nothing; the daily anonymisation records one event per run, without names."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from hiring import services
from hiring.models import Candidate
from salesops.exceptions import ValidationFailed
from salesops.models import AuditEvent
from tests.hiring.conftest import schedule

pytestmark = pytest.mark.django_db


def test_saving_a_draft_scorecard_is_audited_without_the_evidence(
    recruiter, candidate, interviewer_a
):
    interview = schedule(recruiter, candidate, interviewer_a, "Discovery", "Coachability")
    focus = list(interview.focus.all())
    scorecard = services.scorecard_save(
        actor=interviewer_a, interview_id=interview.pk,
        ratings={focus[0].pk: {"rating": 4, "evidence": "Dana asked three layers deep."}},
        recommendation=4, summary="Clear thinker.",
    )  # fmt: skip
    event = AuditEvent.objects.get(action="hiring.scorecard_saved")
    assert (event.actor, event.target_type, event.target_id) == (
        interviewer_a, "hiring.scorecard", scorecard.pk,
    )  # fmt: skip
    assert event.data == {"ratings": 1, "recommendation": 4}


def test_a_refused_save_records_nothing(recruiter, candidate, interviewer_a):
    interview = schedule(recruiter, candidate, interviewer_a, "Discovery")
    attribute = interview.focus.get()
    with pytest.raises(ValidationFailed):
        services.scorecard_save(
            actor=interviewer_a, interview_id=interview.pk,
            ratings={attribute.pk: {"rating": 9}},
        )  # fmt: skip
    assert not AuditEvent.objects.filter(action="hiring.scorecard_saved").exists()


def test_the_anonymisation_records_one_event_per_run_that_anonymised(recruiter, candidate):
    assert services.candidates_anonymise() == 0
    assert not AuditEvent.objects.filter(action="hiring.candidates_anonymised").exists()
    Candidate.objects.filter(pk=candidate.pk).update(
        stage="rejected", stage_reason="Not a fit",
        stage_changed_at=timezone.now() - dt.timedelta(days=3650),
    )  # fmt: skip
    assert services.candidates_anonymise() == 1
    event = AuditEvent.objects.get(action="hiring.candidates_anonymised")
    assert (event.actor, event.target_type, event.data) == (None, "", {"count": 1})
    assert "Dana" not in str(event.data)
