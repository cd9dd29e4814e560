"""A review started while another transaction moves the deal waits for it, then starts
on the moved deal — never a false 404 for a deal the manager may see."""

from __future__ import annotations

import pytest

from coaching import services
from coaching.models import OpportunityReview
from pipeline import services as pipeline_services
from salesops.models import User
from tests.racing import behind_a_commit


@pytest.mark.django_db(transaction=True)
def test_review_started_while_the_deal_moves_starts_on_the_moved_deal(
    rep, manager, pipeline, opportunity
):
    def move() -> None:
        pipeline_services.opportunity_advance(
            opportunity_id=opportunity.pk,
            stage_id=pipeline.qualify.pk,
            actor=User.objects.get(pk=manager.pk),
            override_reason="Agreed with the customer on the call",
        )

    def start() -> OpportunityReview:
        actor = User.objects.get(pk=manager.pk)
        return services.review_start(actor=actor, opportunity_id=opportunity.pk)

    review = behind_a_commit(move, start)
    assert isinstance(review, OpportunityReview), review
    assert OpportunityReview.objects.filter(opportunity=opportunity).count() == 1
