"""The nightly suggestions refresh records one event per run that made or withdrew a
suggestion (a withdrawn one leaves no row behind); bringing evidence up to date is not news."""

from __future__ import annotations

from unittest import mock

import pytest
from django.utils import timezone

from insights import services
from insights.models import Suggestion, SuggestionKind
from pipeline.models import Milestone
from salesops.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def milestone(pipeline):
    return Milestone.objects.get(stage=pipeline.proposal, required=False)


def candidate(milestone) -> services.Candidate:
    return services.Candidate(
        behaviour=f"milestone:{milestone.pk}", stage_id=milestone.stage_id,
        kind=SuggestionKind.REQUIRE_MILESTONE, title="Require it",
        proposal={"milestone": milestone.pk}, evidence={"sentence": "Top performers do."},
    )  # fmt: skip


def refresh(found: list) -> services.RefreshResult:
    # The study itself is tested in test_study.py; here only what the refresh writes.
    with (
        mock.patch.object(services, "company_scope"),
        mock.patch.object(services.selectors, "compute_study"),
        mock.patch.object(services, "candidates", return_value=found),
    ):
        return services.suggestions_refresh(now=timezone.now())


def events() -> list[dict]:
    return list(
        AuditEvent.objects.filter(action="insights.suggestions_refreshed")
        .order_by("id")
        .values_list("data", flat=True)
    )


def test_one_event_per_run_that_made_or_withdrew_one(milestone):
    refresh([candidate(milestone)])
    refresh([candidate(milestone)])  # the same one again: evidence updated, no event
    refresh([])  # withdrawn
    assert not Suggestion.objects.exists()
    assert events() == [
        {"created": 1, "updated": 0, "withdrawn": 0},
        {"created": 0, "updated": 0, "withdrawn": 1},
    ]
    assert (
        AuditEvent.objects.filter(action="insights.suggestions_refreshed", actor=None).count() == 2
    )
