"""The weekly snapshot as a Celery task, on a real worker and a real Redis (not eager)."""

from __future__ import annotations

import datetime as dt

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.utils import timezone

from forecasting.models import PipelineSnapshot
from forecasting.rules import week_start
from forecasting.selectors import history_rates
from forecasting.services import local_today
from forecasting.tasks import take_pipeline_snapshot, warm_history_rates
from salesops.celery import app
from tests.celery_worker import running_worker
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.celery


def test_snapshot_is_on_the_beat_schedule_mondays_early():
    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    entry = schedule["forecasting.take_pipeline_snapshot"]
    assert isinstance(entry, crontab)
    assert entry.day_of_week == {1}  # Monday
    assert entry.hour == {settings.PIPELINE_SNAPSHOT_HOUR} and entry.minute == {0}
    # The crontab is read in the organisation's timezone.
    assert app.conf.timezone == settings.TIME_ZONE


def test_task_options():
    assert take_pipeline_snapshot.name == "forecasting.take_pipeline_snapshot"
    assert take_pipeline_snapshot.acks_late is True
    assert take_pipeline_snapshot.reject_on_worker_lost is True
    assert take_pipeline_snapshot.soft_time_limit < take_pipeline_snapshot.time_limit
    assert take_pipeline_snapshot.retry_backoff


def test_real_worker_takes_the_snapshot_and_a_second_run_inserts_nothing(
    transactional_db, rep, other_rep, pipeline
):
    deals = [
        *OpportunityFactory.create_batch(3, owner=rep, stage=pipeline.discover),
        OpportunityFactory(owner=other_rep, stage=pipeline.qualify),
    ]
    week = week_start(local_today()).isoformat()
    with running_worker():
        first = take_pipeline_snapshot.delay().get(timeout=60)
        second = take_pipeline_snapshot.delay().get(timeout=60)
    assert first == {"week": week, "inserted": 4, "skipped_existing": 0}
    assert second == {"week": week, "inserted": 0, "skipped_existing": 4}
    rows = set(PipelineSnapshot.objects.values_list("week", "opportunity_id", "team_id"))
    assert {(w.isoformat(), o, t) for w, o, t in rows} == {
        (week, d.id, d.owner.team_id) for d in deals
    }


def test_history_rates_are_warmed_daily_just_after_midnight():
    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    entry = schedule["forecasting.warm_history_rates"]
    assert isinstance(entry, crontab)
    assert entry.hour == {0} and entry.minute == {5} and len(entry.day_of_week) == 7


def test_real_worker_warms_the_history_rates(transactional_db, rep, pipeline):
    # Deals that entered Discover (and Qualify) 100-200 days ago: history the task counts.
    long_ago = timezone.now() - dt.timedelta(days=150)
    for stage in (pipeline.discover, pipeline.qualify):
        OpportunityFactory.create_batch(2, owner=rep, stage=stage, stage_entered_at=long_ago)
    expected = sum(1 for row in history_rates() if row[0] is not None)
    assert expected > 0
    with running_worker():
        first = warm_history_rates.delay().get(timeout=60)
        second = warm_history_rates.delay().get(timeout=60)
    assert first == second == {"cells": expected}
