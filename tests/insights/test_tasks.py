"""The nightly suggestions and the minutely behaviour facts as Celery tasks, on a real
worker and a real Redis."""

from __future__ import annotations

import pytest
from celery.schedules import crontab

from insights.models import DealFact, MonthFact, StaleDeal, Suggestion
from insights.tasks import refresh_deal_facts, refresh_suggestions
from salesops.celery import app
from tests.celery_worker import running_worker
from tests.insights.data import build_team

pytestmark = pytest.mark.celery


def test_suggestions_are_refreshed_nightly():
    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    entry = schedule["insights.refresh_suggestions"]
    assert isinstance(entry, crontab)
    assert entry.hour == {2} and entry.minute == {35} and len(entry.day_of_week) == 7
    assert refresh_suggestions.acks_late is True
    assert refresh_suggestions.soft_time_limit < refresh_suggestions.time_limit


def test_real_worker_draws_the_suggestion_once(transactional_db, pipeline, team_a, manager):
    team = build_team(pipeline, team_a)
    with running_worker():
        first = refresh_suggestions.delay().get(timeout=120)
        second = refresh_suggestions.delay().get(timeout=120)
    assert first == {"created": 1, "updated": 0, "withdrawn": 0}
    assert second == {"created": 0, "updated": 1, "withdrawn": 0}
    assert Suggestion.objects.get().proposal == {"milestone": team.optional.pk}


def test_deal_facts_are_refreshed_every_minute():
    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    entry = schedule["insights.refresh_deal_facts"]
    assert isinstance(entry, crontab)
    assert len(entry.minute) == 60 and len(entry.hour) == 24
    assert refresh_deal_facts.acks_late is True


def test_real_worker_computes_the_queued_deals_facts(transactional_db, pipeline, team_a, manager):
    team = build_team(pipeline, team_a)
    assert StaleDeal.objects.count() == len(team.deals) == 64
    with running_worker():
        first = refresh_deal_facts.delay().get(timeout=120)
        second = refresh_deal_facts.delay().get(timeout=120)
    assert first == {"deals": 64} and second == {"deals": 0}
    assert not StaleDeal.objects.exists()
    assert DealFact.objects.values("opportunity_id").distinct().count() == 64
    assert MonthFact.objects.exists()
