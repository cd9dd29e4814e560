"""The daily anonymisation, and overdue onboarding tasks raised by the coaching cadence's
task, on a real worker and a real Redis."""

from __future__ import annotations

import datetime as dt

import pytest
from celery.schedules import crontab
from django.utils import timezone

from coaching.models import CoachingFlag
from coaching.tasks import refresh_cadence
from hiring import services
from hiring.models import Candidate
from hiring.onboarding_flags import KIND
from hiring.tasks import anonymise_candidates
from salesops.celery import app
from tests.celery_worker import running_worker
from tests.factories import UserFactory

pytestmark = pytest.mark.celery


def test_candidates_are_anonymised_daily():
    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    entry = schedule["hiring.anonymise_candidates"]
    assert isinstance(entry, crontab) and entry.hour == {3} and entry.minute == {50}
    assert anonymise_candidates.acks_late is True


def test_real_worker_anonymises_once(transactional_db, candidate, manager):
    services.candidate_move(
        actor=manager, candidate_id=candidate.pk, stage="rejected", reason="Not a fit"
    )
    Candidate.objects.filter(pk=candidate.pk).update(
        stage_changed_at=timezone.now() - dt.timedelta(days=400)
    )
    with running_worker():
        first = anonymise_candidates.delay().get(timeout=120)
        second = anonymise_candidates.delay().get(timeout=120)
    assert first == {"anonymised": 1} and second == {"anonymised": 0}
    stored = Candidate.objects.get(pk=candidate.pk)
    assert stored.email == "" and stored.anonymised_at is not None


def test_real_worker_raises_overdue_onboarding_tasks_with_the_coaching_cadence(
    transactional_db, team_a, manager
):
    # Starting in 2100: nothing is overdue when the plan starts; then time "passes" (the
    # due dates move back), which only the scheduled refresh notices.
    newbie = UserFactory(username="newbie", role="rep", team=team_a)
    plan = services.onboarding_start(rep=newbie, started_on=dt.date(2100, 1, 4))
    assert not CoachingFlag.objects.filter(kind=KIND).exists()
    plan.tasks.update(due_on=dt.date(2000, 1, 3))
    with running_worker():
        first = refresh_cadence.delay().get(timeout=120)
        second = refresh_cadence.delay().get(timeout=120)
    flags = CoachingFlag.objects.filter(kind=KIND, cleared_at__isnull=True)
    tasks = plan.tasks.all()
    assert {(f.subject_id, f.recipient_id) for f in flags} == {
        (t.pk, manager.pk if t.manager_signs_off else newbie.pk) for t in tasks
    }
    assert first["raised"] >= tasks.count() == 9 and second["raised"] == 0
