"""The insights figures are cached under the forecast data version; everything they read
besides what the forecast watches (activities, milestones and completions, history,
qualifications, proposal reviews, 1:1s, opportunity reviews, accounts, rule changes)
bumps it too (insights migration 0002), and what they never read does not."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from coaching.models import CoachingSession
from insights import selectors
from insights.scope import scope_for
from pipeline.models import Account, Activity, Milestone, MilestoneCompletion
from tests.coaching.conftest import ensure_skills
from tests.forecasting.test_freshness import immediate, version, versioned  # noqa: F401


def _activity(opp, rep, manager):
    Activity.objects.create(
        opportunity=opp, kind="call", subject="Call", occurred_at=timezone.now(), logged_by=rep
    )


def _completion(opp, rep, manager):
    MilestoneCompletion.objects.create(
        opportunity=opp,
        milestone=Milestone.objects.filter(stage=opp.stage).first(),
        completed_by=rep,
        completed_at=timezone.now(),
        evidence="In writing",
    )


def _milestone_required(opp, rep, manager):
    Milestone.objects.filter(stage=opp.stage).update(required=False)


def _industry(opp, rep, manager):
    Account.objects.filter(pk=opp.account_id).update(industry="Retail")


def _one_on_one(opp, rep, manager):
    skill = ensure_skills()[0]
    CoachingSession.objects.create(
        manager=manager, rep=rep, held_on=timezone.localdate(), focus_skill=skill
    )


@pytest.mark.parametrize(
    "change", [_activity, _completion, _milestone_required, _industry, _one_on_one]
)
def test_what_the_study_reads_bumps_the_version(versioned, opportunity, rep, manager, change):  # noqa: F811
    change(opportunity, rep, manager)
    immediate()
    assert version() == versioned + 1


def test_what_it_never_reads_does_not(versioned, opportunity):  # noqa: F811
    Account.objects.filter(pk=opportunity.account_id).update(domain="example.org")
    Activity.objects.filter(opportunity=opportunity).update(body="Notes")
    immediate()
    assert version() == versioned


@pytest.fixture
def caching(settings):
    settings.FORECAST_CACHE_SECONDS = 60
    cache.clear()
    yield
    cache.clear()


def test_results_are_served_from_the_cache_until_an_activity_is_logged(
    caching, leader, opportunity, rep, django_assert_num_queries
):
    scope = scope_for(leader)
    first = selectors.results_for(leader, scope)
    with django_assert_num_queries(1):  # the version only
        assert selectors.results_for(leader, scope) == first
    immediate()
    _activity(opportunity, rep, None)
    immediate()
    with CaptureQueriesContext(connection) as queries:
        again = selectors.results_for(leader, scope)
    assert len(queries.captured_queries) > 1  # computed again
    assert again.total.created == first.total.created
