"""A proposal started while another transaction hands the deal over waits for it, then
answers about the deal as it now is — never a false 404 for a deal the actor may see."""

from __future__ import annotations

import pytest

from pipeline import services as pipeline_services
from proposals import services
from proposals.models import Proposal
from salesops.exceptions import PermissionDenied
from salesops.models import User
from tests.proposals.conftest import proposal_data
from tests.racing import behind_a_commit


@pytest.mark.django_db(transaction=True)
def test_proposal_started_while_the_deal_is_handed_over_names_the_new_owner(
    teammate, manager, leader, deal
):
    def hand_over() -> None:
        pipeline_services.opportunity_update(
            opportunity_id=deal.pk, actor=User.objects.get(pk=manager.pk), owner=teammate
        )

    def create() -> Proposal:
        actor = User.objects.get(pk=leader.pk)  # sees every deal, writes none
        return services.proposal_create(actor=actor, opportunity_id=deal.pk, **proposal_data())

    refusal = behind_a_commit(hand_over, create)
    assert isinstance(refusal, PermissionDenied), refusal
    assert str(teammate) in refusal.message
    assert not Proposal.objects.exists()
