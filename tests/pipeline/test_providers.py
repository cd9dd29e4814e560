"""The pipeline asks the apps above it through providers they register at start-up."""

from __future__ import annotations

import pytest

from pipeline import providers


def test_the_apps_above_registered_their_providers():
    """proposals and coaching registered at start-up: the deal page's cards come in their
    order, and the gate's count and the navbar's queue are theirs."""
    assert [
        s.template for s in sorted(providers._deal_sections.values(), key=lambda s: s.order)
    ] == [
        "proposals/partials/opportunity_card.html",
        "coaching/partials/opportunity_reviews_card.html",
    ]
    assert providers._approved_proposals is not None
    assert providers._review_queue is not None


@pytest.mark.django_db
def test_with_nothing_registered_the_pipeline_stands_alone(monkeypatch, rep, opportunity):
    monkeypatch.setattr(providers, "_approved_proposals", None)
    monkeypatch.setattr(providers, "_review_queue", None)
    monkeypatch.setattr(providers, "_deal_sections", {})
    assert providers.approved_proposals(opportunity.pk) == 0
    assert list(providers.review_queue(rep)) == []
    assert providers.deal_sections(rep, opportunity) == ([], {})


def test_sections_come_in_order_with_their_context(monkeypatch):
    monkeypatch.setattr(providers, "_deal_sections", {})
    providers.register_deal_section(
        providers.DealSection(order=20, template="b.html", context=lambda u, o: {"b": o})
    )
    providers.register_deal_section(
        providers.DealSection(order=10, template="a.html", context=lambda u, o: {"a": u})
    )
    assert providers.deal_sections("user", "deal") == (
        ["a.html", "b.html"],
        {"a": "user", "b": "deal"},
    )
