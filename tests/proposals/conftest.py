"""A deal with a customer, a recorded business issue and a summary that passes its checks."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import AccountFactory, BusinessIssueFactory, OpportunityFactory

GOOD_SUMMARY = (
    "Acme Logistics asked us how to stop losing time on manual invoice matching, which "
    "today costs three people (3 FTE) in the finance team every month. Our automated "
    "matching frees 2 FTE within the first quarter after go-live, worth about 140,000 EUR "
    "a year, and cuts the month-end close from eight days to five. We propose a twelve "
    "week rollout with your finance and IT teams, starting with the two highest-volume "
    "suppliers, so that Acme Logistics sees matched invoices in week four and the full "
    "saving before the next budget review."
)


@pytest.fixture
def deal(rep, pipeline):
    """Rep's open deal with Acme Logistics and one quantified business issue."""
    opp = OpportunityFactory(
        owner=rep,
        stage=pipeline.qualify,
        name="Acme finance automation",
        account=AccountFactory(name="Acme Logistics GmbH"),
    )
    BusinessIssueFactory(
        opportunity=opp,
        issue="Manual invoice matching costs 3 FTE",
        our_value="Automated matching frees 2 FTE",
        quantified_value=140000,
    )
    return opp


def proposal_data(**overrides):
    data = {
        "title": "Finance automation for Acme Logistics",
        "executive_summary": GOOD_SUMMARY,
        "total_value": "48000.00",
        "currency": "EUR",
        "valid_until": (timezone.localdate() + dt.timedelta(days=30)).isoformat(),
        "sections": [
            {"heading": "Scope", "body": "Invoice matching for all suppliers."},
            {"heading": "Pricing", "body": "48,000 EUR, paid in two instalments."},
        ],
    }
    data.update(overrides)
    return data
