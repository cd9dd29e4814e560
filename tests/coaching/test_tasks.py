"""The cadence refresh as a Celery task, on a real worker and a real Redis (not eager)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from coaching.models import ActionItem, CoachingFlag, CoachingSession
from coaching.tasks import refresh_cadence
from salesops.celery import app
from salesops.models import Notification, Role
from tests.celery_worker import running_worker
from tests.coaching.conftest import ensure_skills
from tests.factories import UserFactory

NOTHING = {"raised": 0, "cleared": 0, "updated": 0, "notified": 0}

pytestmark = pytest.mark.celery


def test_cadence_refresh_is_on_the_beat_schedule():
    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert schedule["coaching.refresh_cadence"] == dt.timedelta(
        minutes=settings.COACHING_CADENCE_REFRESH_MINUTES
    )


def test_task_options():
    assert refresh_cadence.name == "coaching.refresh_cadence"
    assert refresh_cadence.acks_late is True
    assert refresh_cadence.reject_on_worker_lost is True
    assert refresh_cadence.soft_time_limit < refresh_cadence.time_limit
    assert refresh_cadence.retry_backoff


def test_real_worker_raises_flags_and_a_rerun_changes_nothing(transactional_db, manager, team_a):
    today = timezone.localdate()
    reps = [
        UserFactory(role=Role.REP, team=team_a, started_on=today - dt.timedelta(days=20 + i))
        for i in range(3)
    ]
    session = CoachingSession.objects.create(
        manager=manager, rep=reps[0], held_on=today, focus_skill=ensure_skills()[0]
    )
    ActionItem.objects.create(
        session=session,
        owner=reps[0],
        title="Rehearse the discovery call",
        due_on=today - dt.timedelta(days=1),
        created_by=manager,
    )
    with running_worker():
        counts = refresh_cadence.delay().get(timeout=60)
        assert counts == {"raised": 3, "cleared": 0, "updated": 0, "notified": 2}
        again = refresh_cadence.delay().get(timeout=60)
    assert again == NOTHING
    flags = set(CoachingFlag.objects.values_list("kind", "recipient_id", "cleared_at"))
    assert flags == {
        ("one_on_one_overdue", manager.pk, None),
        ("action_item_overdue", reps[0].pk, None),
    }
    assert CoachingFlag.objects.count() == 3
    notes = sorted(Notification.objects.values_list("recipient_id", "title"))
    assert notes == sorted(
        [(manager.pk, "2 coaching items overdue"),
         (reps[0].pk, "Action item overdue: Rehearse the discovery call")]
    )  # fmt: skip
