"""The executive summary of a deal whose business issue has no value mapped yet: the live
checklist, the API's check and submitting all refuse "restates a business issue and its
value" and say to map the value first; once the value is mapped on the opportunity (the
issue edited in place, issue 16 items 6 and 7), the same summary passes."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from pipeline import services as pipeline_services
from pipeline.models import BusinessIssue
from proposals import services
from proposals.models import Proposal, ProposalStatus
from salesops.exceptions import Unprocessable
from tests.factories import AccountFactory, BusinessIssueFactory, OpportunityFactory
from tests.proposals.conftest import GOOD_SUMMARY, proposal_data

MAP_FIRST = "not mapped yet: map the value on the opportunity first"


@pytest.fixture
def unmapped_deal(rep, pipeline):
    """Rep's deal with Acme Logistics; its one issue is quantified but not mapped in words."""
    opp = OpportunityFactory(
        owner=rep,
        stage=pipeline.qualify,
        name="Acme finance automation",
        account=AccountFactory(name="Acme Logistics GmbH"),
    )
    BusinessIssueFactory(
        opportunity=opp,
        issue="Manual invoice matching costs 3 FTE",
        our_value="",
        quantified_value=140000,
    )
    return opp


def restates(opp, text=GOOD_SUMMARY):
    checks = services.summary_checks(opportunity=opp, text=text)
    return next(c for c in checks if c.code == "restates_issue")


def test_an_unmapped_value_fails_the_check_then_mapping_it_passes(rep, unmapped_deal):
    result = restates(unmapped_deal)
    assert not result.passed
    assert MAP_FIRST in result.message

    issue = BusinessIssue.objects.get(opportunity=unmapped_deal)
    pipeline_services.business_issue_update(
        business_issue_id=issue.pk, actor=rep, our_value="Automated matching frees 2 FTE"
    )
    result = restates(unmapped_deal)
    assert result.passed
    assert result.message == (
        "Restates 'Manual invoice matching costs 3 FTE' and the value we mapped to it "
        "('Automated matching frees 2 FTE — 140,000 EUR')."
    )


def test_submitting_is_refused_with_the_map_first_message(rep, unmapped_deal):
    proposal = services.proposal_create(
        actor=rep, opportunity_id=unmapped_deal.pk, **proposal_data()
    )
    with pytest.raises(Unprocessable) as exc:
        services.proposal_submit(actor=rep, proposal_id=proposal.pk)
    assert exc.value.code == "summary_checks_failed"
    assert MAP_FIRST in exc.value.message
    assert Proposal.objects.get(pk=proposal.pk).status == ProposalStatus.DRAFT


def test_the_live_checklist_says_the_same(client, rep, unmapped_deal):
    client.force_login(rep)
    body = client.post(
        reverse("proposals:check_summary"),
        {"opportunity": unmapped_deal.pk, "executive_summary": GOOD_SUMMARY},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    passed = dict(re.findall(r'data-check="([a-z_]+)" data-passed="(true|false)"', body))
    assert passed["restates_issue"] == "false"
    assert MAP_FIRST in body
