"""Ticking a review's agenda point is audited once per change; a refusal records nothing."""

from __future__ import annotations

import pytest

from coaching import services
from salesops.exceptions import NotFound
from salesops.models import AuditEvent
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(rep, manager, pipeline):
    deal = OpportunityFactory(owner=rep, stage=pipeline.qualify)
    review = services.review_start(actor=manager, opportunity_id=deal.pk)
    return services.agenda_item_add(actor=manager, review_id=review.pk, title="Champion?")


def events() -> list[tuple]:
    return list(
        AuditEvent.objects.filter(action="review.agenda_item_discussed")
        .order_by("id")
        .values_list("actor__username", "target_id", "data")
    )


def test_ticking_a_point_is_audited_once_per_change(manager, item):
    services.agenda_item_set_discussed(actor=manager, item_id=item.pk, discussed=True)
    services.agenda_item_set_discussed(actor=manager, item_id=item.pk, discussed=True)  # no change
    services.agenda_item_set_discussed(actor=manager, item_id=item.pk, discussed=False)
    assert events() == [
        ("manager", item.pk, {"discussed": True}),
        ("manager", item.pk, {"discussed": False}),
    ]


def test_a_refused_tick_records_nothing(other_manager, item):
    with pytest.raises(NotFound):
        services.agenda_item_set_discussed(actor=other_manager, item_id=item.pk, discussed=True)
    item.refresh_from_db()
    assert item.discussed is False and events() == []
