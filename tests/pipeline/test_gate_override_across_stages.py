"""A manager's gate override across every stage of the demo's longest pipeline.

The history note lists every milestone the override skipped; with the demo's five open
stages and every milestone open it runs past the 300 characters the column once held,
which made the move a 500 on every path. Each path must now move the deal and keep the
whole list.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from pipeline import services
from pipeline.models import Milestone, Opportunity, OpportunityChange, OpportunityStatus
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db
REASON = "Signed order form arrived before the paperwork caught up"


@pytest.fixture
def demo_pipeline(admin_user):
    """The demo's "New business" pipeline, from the template the demo itself is made of."""
    return services.pipeline_create_from_template(
        actor=admin_user, template="new_business", name="New business"
    )


@pytest.fixture
def deal(rep, demo_pipeline) -> Opportunity:
    first = demo_pipeline.stages.order_by("order").first()
    return OpportunityFactory(owner=rep, stage=first, name="Globex renewal")


def stage(pipeline, name: str):
    return pipeline.stages.get(name=name)


def required_titles_before(pipeline, target) -> list[str]:
    """Every required milestone of the open stages before `target`: what an override from
    the first stage skips when nothing has been met."""
    return list(
        Milestone.objects.filter(
            stage__pipeline=pipeline,
            stage__order__lt=target.order,
            stage__is_won=False,
            stage__is_lost=False,
            required=True,
        ).values_list("title", flat=True)
    )


def assert_history_keeps_everything(deal: Opportunity, target, actor) -> None:
    deal.refresh_from_db()
    assert deal.stage_id == target.pk
    change = OpportunityChange.objects.get(opportunity=deal, field="stage", changed_by=actor)
    assert change.override_reason == REASON
    skipped = required_titles_before(deal.pipeline, target)
    assert len(skipped) >= 8
    for title in skipped:
        assert title in change.note
    assert len(change.note) > 300  # what the old column could not hold


def test_the_demo_pipeline_overflowed_the_old_note(demo_pipeline):
    won = stage(demo_pipeline, "Closed won")
    note = "Gate overridden; missing: " + "; ".join(required_titles_before(demo_pipeline, won))
    assert len(note) > 300


def test_service_override_to_closed_won_keeps_every_missing_milestone(deal, manager):
    won = stage(deal.pipeline, "Closed won")
    services.opportunity_advance(
        opportunity_id=deal.pk, stage_id=won.pk, actor=manager, override_reason=REASON
    )
    assert_history_keeps_everything(deal, won, manager)
    assert deal.status == OpportunityStatus.WON


def test_api_close_won_with_override_from_the_first_stage(deal, admin_user, key_for):
    response = key_for(admin_user).post(
        f"/api/v1/opportunities/{deal.pk}/close-won/", {"override_reason": REASON}
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "won"
    assert_history_keeps_everything(deal, stage(deal.pipeline, "Closed won"), admin_user)


def test_api_advance_with_override_to_the_last_open_stage(deal, manager, key_for):
    negotiate = stage(deal.pipeline, "Negotiate")
    response = key_for(manager).post(
        f"/api/v1/opportunities/{deal.pk}/advance/",
        {"stage": negotiate.pk, "override_reason": REASON},
    )
    assert response.status_code == 200, response.content
    assert_history_keeps_everything(deal, negotiate, manager)


@pytest.mark.parametrize("board", [False, True], ids=["opportunity-page", "board"])
def test_page_override_to_the_last_open_stage(client, deal, manager, board):
    negotiate = stage(deal.pipeline, "Negotiate")
    client.force_login(manager)
    data = {"stage": negotiate.pk, "override_reason": REASON, "version": deal.version}
    if board:
        data["board"] = "1"
    response = client.post(
        reverse("pipeline:opportunity_advance", args=[deal.pk]), data, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert_history_keeps_everything(deal, negotiate, manager)
    # The opportunity page shows the whole list in its history.
    page = client.get(reverse("pipeline:opportunity_detail", args=[deal.pk])).content.decode()
    history = page.split('data-testid="history"')[1]
    assert required_titles_before(deal.pipeline, negotiate)[-1] in history
