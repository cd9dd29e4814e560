"""The daily anonymisation as a Celery task, on a real worker and a real Redis."""

from __future__ import annotations

import datetime as dt

import pytest
from celery.schedules import crontab
from django.utils import timezone

from hiring import services
from hiring.models import Candidate
from hiring.tasks import anonymise_candidates
from salesops.celery import app
from tests.celery_worker import running_worker

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
