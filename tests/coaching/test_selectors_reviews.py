"""coaching.selectors.deal_snapshot (the facts a review's agenda comes from) and the
review queue's scope and ranking inputs, against the database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from coaching import selectors, services
from pipeline import services as pipeline_services
from proposals import services as proposal_services
from tests.factories import (
    OpportunityFactory,
    QualificationElementFactory,
    QualificationFrameworkFactory,
)
from tests.proposals.conftest import proposal_data


def test_snapshot_reads_qualification_scores_and_a_failing_summary(rep, pipeline, opportunity):
    framework = QualificationFrameworkFactory(name="Review snapshot framework")
    buyer = QualificationElementFactory(framework=framework, name="Economic buyer", order=1)
    pain = QualificationElementFactory(framework=framework, name="Pain", order=2)
    pipeline.framework = framework
    pipeline.save(update_fields=["framework"])
    pipeline_services.qualification_create(
        opportunity_id=opportunity.pk,
        actor=rep,
        scores=[
            {"element": buyer.pk, "score": 1},
            {"element": pain.pk, "score": 3, "evidence": "CFO email", "source": "email"},
        ],
    )
    proposal_services.proposal_create(
        actor=rep,
        opportunity_id=opportunity.pk,
        **proposal_data(executive_summary="We are great."),
    )
    opportunity.refresh_from_db()

    snapshot = selectors.deal_snapshot(opportunity, None)

    assert snapshot.qualification_state == "valid"
    assert snapshot.element_scores == (("Economic buyer", 1), ("Pain", 3))
    assert snapshot.summary_state == "failing" and snapshot.summary_failures
    assert [m.title for m in snapshot.unmet_milestones] == [
        "Pain identified",
        "Economic buyer confirmed the problem is worth solving",
        "Decision process mapped with the customer",
    ]
    assert snapshot.next_stage == "Qualify" and not snapshot.reviewed_before


def test_snapshot_skips_the_creation_row_and_reads_amount_changes(
    rep, manager, pipeline, opportunity
):
    pipeline_services.opportunity_update(
        opportunity_id=opportunity.pk,
        actor=rep,
        expected_version=opportunity.version,
        amount=Decimal("7500"),
        close_date=opportunity.close_date + dt.timedelta(days=30),
    )
    opportunity.refresh_from_db()
    snapshot = selectors.deal_snapshot(opportunity, None)
    assert [(c.old, c.new) for c in snapshot.amount_changes] == [
        (Decimal("10000.00"), Decimal("7500.00"))
    ]
    assert len(snapshot.close_date_changes) == 1
    assert snapshot.close_date_changes[0].by == str(rep)
    later = selectors.deal_snapshot(opportunity, timezone.now())
    assert later.amount_changes == () and later.reviewed_before


def test_queue_scope(rep, teammate, manager, other_manager, leader, other_rep, pipeline):
    mine = OpportunityFactory(owner=rep, stage=pipeline.discover)
    OpportunityFactory(owner=manager, stage=pipeline.discover)  # the manager's own deal
    theirs = OpportunityFactory(owner=other_rep, stage=pipeline.discover)
    OpportunityFactory(
        owner=rep, stage=pipeline.won, status="won", closed_at=timezone.now()
    )  # closed
    ids = lambda user: {r.opportunity.pk for r in selectors.review_queue_for(user).rows}  # noqa: E731
    assert ids(manager) == {mine.pk}
    assert ids(other_manager) == {theirs.pk}
    assert ids(rep) == set()
    assert {mine.pk, theirs.pk} <= ids(leader)
    review = services.review_start(actor=manager, opportunity_id=mine.pk)
    row = selectors.review_queue_for(manager).rows[0]
    assert row.open_review_id == review.pk and row.last_review_at is not None
    assert "Never reviewed" not in row.risk.reasons  # reviewed today: no age points yet
