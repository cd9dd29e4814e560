"""Proposal services: the workflow, who may do what, and the database after each call —
including that nothing changed when a call was refused."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from pipeline import services as pipeline_services
from pipeline.models import AutoCheck, MilestoneKind
from proposals import services
from proposals.models import (
    Proposal,
    ProposalComment,
    ProposalReview,
    ProposalSection,
    ReviewChecklistItem,
)
from salesops.exceptions import (
    Conflict,
    NotFound,
    PermissionDenied,
    StaleVersion,
    Unprocessable,
    ValidationFailed,
)
from salesops.models import Notification, Role
from tests.factories import MilestoneFactory, OpportunityFactory, UserFactory
from tests.proposals.conftest import GOOD_SUMMARY, proposal_data


def snapshot() -> tuple:
    """Everything the proposal services write."""
    return (
        list(Proposal.objects.order_by("id").values()),
        list(ProposalSection.objects.order_by("id").values()),
        list(ProposalReview.objects.order_by("id").values()),
        list(ProposalComment.objects.order_by("id").values()),
        list(Notification.objects.order_by("id").values()),
    )


def all_items() -> list[int]:
    return list(ReviewChecklistItem.objects.filter(is_active=True).values_list("id", flat=True))


@pytest.fixture
def draft(rep, deal):
    return services.proposal_create(actor=rep, opportunity_id=deal.pk, **proposal_data())


@pytest.fixture
def in_review(rep, draft):
    return services.proposal_submit(actor=rep, proposal_id=draft.pk)


@pytest.fixture
def approved(manager, in_review):
    return services.proposal_approve(
        actor=manager, proposal_id=in_review.pk, checked_items=all_items()
    )


# --- create and edit -------------------------------------------------------------------


def test_owner_creates_the_first_version_as_a_draft(rep, deal):
    proposal = services.proposal_create(actor=rep, opportunity_id=deal.pk, **proposal_data())
    proposal.refresh_from_db()
    assert (proposal.number, proposal.status, proposal.created_by) == (1, "draft", rep)
    assert str(proposal.total_value) == "48000.00" and proposal.currency == "EUR"
    assert list(proposal.sections.values_list("order", "heading")) == [
        (1, "Scope"),
        (2, "Pricing"),
    ]


def test_total_and_currency_default_to_the_deal(rep, deal):
    data = proposal_data()
    del data["total_value"], data["currency"]
    proposal = services.proposal_create(actor=rep, opportunity_id=deal.pk, **data)
    assert (proposal.total_value, proposal.currency) == (deal.amount, deal.currency)


@pytest.mark.parametrize(
    ("actor", "error"),
    [("manager", PermissionDenied), ("other_rep", NotFound), ("teammate", NotFound)],
)
def test_only_the_owner_creates(request, deal, actor, error):
    before = snapshot()
    with pytest.raises(error):
        services.proposal_create(
            actor=request.getfixturevalue(actor), opportunity_id=deal.pk, **proposal_data()
        )
    assert snapshot() == before


def test_create_refuses_every_bad_field_at_once_and_saves_nothing(rep, deal):
    before = snapshot()
    with pytest.raises(ValidationFailed) as exc:
        services.proposal_create(
            actor=rep,
            opportunity_id=deal.pk,
            **proposal_data(
                title="  ",
                total_value="-5",
                currency="euro",
                valid_until="31/12/2026",
                executive_summary="x" * 100_000,
                sections=[{"heading": "", "body": "b"}, "nope"],
            ),
        )
    assert set(exc.value.details) == {
        "title",
        "total_value",
        "currency",
        "valid_until",
        "executive_summary",
        "sections",
    }
    assert "at most 20000 characters" in exc.value.details["executive_summary"][0]
    assert snapshot() == before


def test_unknown_fields_are_refused(rep, deal):
    with pytest.raises(ValidationFailed) as exc:
        services.proposal_create(
            actor=rep, opportunity_id=deal.pk, **proposal_data(status="approved")
        )
    assert exc.value.details == {"status": ["Unknown field."]}
    assert not Proposal.objects.exists()


def test_one_proposal_in_progress_per_deal(rep, deal, draft):
    before = snapshot()
    with pytest.raises(Conflict) as exc:
        services.proposal_create(actor=rep, opportunity_id=deal.pk, **proposal_data())
    assert exc.value.code == "proposal_in_progress"
    assert exc.value.details == {"proposal": draft.pk}
    assert snapshot() == before


def test_a_closed_deal_gets_no_proposal(rep, deal):
    pipeline_services.opportunity_close_lost(
        opportunity_id=deal.pk, actor=rep, loss_reason="No budget."
    )
    with pytest.raises(Conflict):
        services.proposal_create(actor=rep, opportunity_id=deal.pk, **proposal_data())
    assert not Proposal.objects.exists()


def test_owner_edits_a_draft_and_sections_are_replaced(rep, draft):
    updated = services.proposal_update(
        actor=rep,
        proposal_id=draft.pk,
        expected_revision=draft.revision,
        title="New title",
        sections=[{"heading": "Only", "body": ""}],
    )
    updated.refresh_from_db()
    assert (updated.title, updated.revision) == ("New title", draft.revision + 1)
    assert list(updated.sections.values_list("heading", flat=True)) == ["Only"]


def test_a_stale_revision_is_refused(rep, draft):
    services.proposal_update(actor=rep, proposal_id=draft.pk, title="First")
    before = snapshot()
    with pytest.raises(StaleVersion):
        services.proposal_update(
            actor=rep, proposal_id=draft.pk, expected_revision=draft.revision, title="Second"
        )
    assert snapshot() == before


def test_only_the_owner_edits(manager, leader, draft):
    before = snapshot()
    for actor in (manager, leader):
        with pytest.raises(PermissionDenied):
            services.proposal_update(actor=actor, proposal_id=draft.pk, title="Mine now")
    assert snapshot() == before


# --- submit and review -----------------------------------------------------------------


def test_submit_refuses_a_failing_summary_with_the_checks(rep, draft):
    services.proposal_update(actor=rep, proposal_id=draft.pk, executive_summary="Dear customer.")
    before = snapshot()
    with pytest.raises(Unprocessable) as exc:
        services.proposal_submit(actor=rep, proposal_id=draft.pk)
    assert exc.value.code == "summary_checks_failed"
    assert "names_customer" in exc.value.details["failed"]
    assert "length" in exc.value.details["failed"]
    codes = [c["code"] for c in exc.value.details["checks"]]
    assert len(codes) == 6 and set(exc.value.details["failed"]) <= set(codes)
    assert snapshot() == before


def test_submit_refuses_an_empty_summary(rep, draft):
    services.proposal_update(actor=rep, proposal_id=draft.pk, executive_summary="")
    with pytest.raises(Unprocessable) as exc:
        services.proposal_submit(actor=rep, proposal_id=draft.pk)
    assert exc.value.code == "summary_checks_failed"
    assert Proposal.objects.get().status == "draft"


def test_submit_refuses_a_past_validity_or_no_sections(rep, draft):
    services.proposal_update(
        actor=rep,
        proposal_id=draft.pk,
        valid_until=timezone.localdate() - dt.timedelta(days=1),
        sections=[],
    )
    before = snapshot()
    with pytest.raises(Unprocessable) as exc:
        services.proposal_submit(actor=rep, proposal_id=draft.pk)
    assert set(exc.value.details) == {"valid_until", "sections"}
    assert snapshot() == before


def test_submit_sends_it_to_the_manager(rep, manager, draft):
    proposal = services.proposal_submit(actor=rep, proposal_id=draft.pk)
    proposal.refresh_from_db()
    assert proposal.status == "in_review" and proposal.submitted_at is not None
    note = Notification.objects.get()
    assert note.recipient == manager
    assert note.title == "Proposal to review: Finance automation for Acme Logistics"
    assert note.link == f"/proposals/{proposal.pk}/"


def test_manager_approves_with_every_checklist_item(rep, manager, in_review):
    proposal = services.proposal_approve(
        actor=manager, proposal_id=in_review.pk, checked_items=all_items(), comment="Good."
    )
    proposal.refresh_from_db()
    assert (proposal.status, proposal.approved_by) == ("approved", manager)
    review = ProposalReview.objects.get()
    assert (review.decision, review.comment) == ("approved", "Good.")
    assert all(entry["checked"] for entry in review.checklist)
    assert len(review.checklist) == ReviewChecklistItem.objects.count() == 4
    assert Notification.objects.filter(recipient=rep, title__startswith="Proposal approved").count()


def test_approving_needs_every_checklist_item(manager, in_review):
    before = snapshot()
    with pytest.raises(ValidationFailed) as exc:
        services.proposal_approve(
            actor=manager, proposal_id=in_review.pk, checked_items=all_items()[:2]
        )
    assert "not confirmed" in exc.value.details["checklist"][0]
    with pytest.raises(ValidationFailed) as exc:
        services.proposal_approve(
            actor=manager, proposal_id=in_review.pk, checked_items=[*all_items(), 999_999]
        )
    assert "Unknown checklist item" in exc.value.details["checklist"][0]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("actor", "error"),
    [
        ("rep", PermissionDenied),  # the owner never approves their own
        ("teammate", NotFound),  # a rep does not even see a teammate's deal
        ("other_manager", NotFound),  # another team's manager neither
    ],
)
def test_who_may_not_approve(request, in_review, actor, error):
    before = snapshot()
    with pytest.raises(error):
        services.proposal_approve(
            actor=request.getfixturevalue(actor),
            proposal_id=in_review.pk,
            checked_items=all_items(),
        )
    assert snapshot() == before


def test_a_leader_approves_but_a_manager_not_their_own_deal(leader, manager, pipeline, team_a):
    own = OpportunityFactory(owner=manager, stage=pipeline.qualify, name="Manager's deal")
    from tests.factories import BusinessIssueFactory

    BusinessIssueFactory(opportunity=own)
    proposal = services.proposal_create(
        actor=manager,
        opportunity_id=own.pk,
        **proposal_data(executive_summary=GOOD_SUMMARY.replace("Acme Logistics", own.account.name)),
    )
    Proposal.objects.filter(pk=proposal.pk).update(status="in_review")
    with pytest.raises(PermissionDenied):
        services.proposal_approve(actor=manager, proposal_id=proposal.pk, checked_items=all_items())
    approved = services.proposal_approve(
        actor=leader, proposal_id=proposal.pk, checked_items=all_items()
    )
    assert approved.status == "approved"


def test_request_changes_needs_a_comment_then_the_rep_edits_again(rep, manager, in_review):
    before = snapshot()
    with pytest.raises(ValidationFailed) as exc:
        services.proposal_request_changes(actor=manager, proposal_id=in_review.pk, comment=" ")
    assert set(exc.value.details) == {"comment"}
    assert snapshot() == before
    services.proposal_request_changes(
        actor=manager, proposal_id=in_review.pk, comment="Add the payment terms."
    )
    proposal = Proposal.objects.get()
    assert proposal.status == "changes_requested"
    assert Notification.objects.get(recipient=rep).body == "Add the payment terms."
    services.proposal_update(actor=rep, proposal_id=proposal.pk, title="With terms")
    assert services.proposal_submit(actor=rep, proposal_id=proposal.pk).status == "in_review"


def test_a_proposal_in_review_is_not_edited(rep, in_review):
    before = snapshot()
    with pytest.raises(Conflict) as exc:
        services.proposal_update(actor=rep, proposal_id=in_review.pk, title="Sneaky")
    assert exc.value.code == "proposal_not_editable"
    assert snapshot() == before


def test_reviewing_twice_is_refused(manager, approved):
    with pytest.raises(Conflict):
        services.proposal_approve(actor=manager, proposal_id=approved.pk, checked_items=all_items())
    assert ProposalReview.objects.count() == 1


# --- sent is frozen; changes make a new version ------------------------------------------


def test_sent_is_frozen_and_a_new_version_copies_it(rep, approved):
    sent = services.proposal_mark_sent(actor=rep, proposal_id=approved.pk)
    sent.refresh_from_db()
    assert sent.status == "sent" and sent.sent_at is not None
    before = snapshot()
    for call in (
        lambda: services.proposal_update(actor=rep, proposal_id=sent.pk, title="Edited"),
        lambda: services.proposal_submit(actor=rep, proposal_id=sent.pk),
        lambda: services.proposal_mark_sent(actor=rep, proposal_id=sent.pk),
        lambda: services.proposal_delete(actor=rep, proposal_id=sent.pk),
    ):
        with pytest.raises(Conflict):
            call()
    assert snapshot() == before
    copy = services.proposal_new_version(actor=rep, proposal_id=sent.pk)
    assert (copy.number, copy.status, copy.title) == (2, "draft", sent.title)
    assert list(copy.sections.values_list("heading", "body")) == list(
        sent.sections.values_list("heading", "body")
    )
    sent.refresh_from_db()
    assert sent.status == "sent" and sent.sections.count() == 2


def test_only_an_approved_proposal_is_sent(rep, draft):
    with pytest.raises(Conflict):
        services.proposal_mark_sent(actor=rep, proposal_id=draft.pk)
    assert Proposal.objects.get().status == "draft"


def test_only_a_never_submitted_draft_is_deleted(rep, draft):
    services.proposal_delete(actor=rep, proposal_id=draft.pk)
    assert not Proposal.objects.exists() and not ProposalSection.objects.exists()


# --- comments ---------------------------------------------------------------------------


def test_reviewer_comments_on_a_section_and_the_owner_hears_of_it(rep, manager, in_review):
    section = in_review.sections.get(order=2)
    comment = services.proposal_comment_add(
        actor=manager, proposal_id=in_review.pk, section_id=section.pk, body="Split by phase."
    )
    assert (comment.section, comment.author) == (section, manager)
    assert Notification.objects.filter(recipient=rep, title__startswith="Comment on").exists()


def test_comment_refusals(rep, manager, leader, in_review, pipeline):
    other = services.proposal_create(
        actor=rep,
        opportunity_id=OpportunityFactory(owner=rep, stage=pipeline.discover).pk,
        **proposal_data(),
    )
    foreign_section = other.sections.first()
    before = snapshot()
    with pytest.raises(ValidationFailed) as exc:
        services.proposal_comment_add(
            actor=manager, proposal_id=in_review.pk, section_id=foreign_section.pk, body=""
        )
    assert set(exc.value.details) == {"body", "section"}
    assert snapshot() == before


# --- the stage gate -----------------------------------------------------------------------


def test_proposal_approved_milestone_gates_the_stage(rep, manager, pipeline, deal):
    MilestoneFactory(
        stage=pipeline.qualify,
        title="Proposal approved",
        kind=MilestoneKind.SELLER_ACTION,
        auto_check=AutoCheck.PROPOSAL_APPROVED,
    )
    from salesops.exceptions import GateNotMet

    with pytest.raises(GateNotMet) as exc:
        pipeline_services.opportunity_advance(
            opportunity_id=deal.pk, stage_id=pipeline.proposal.pk, actor=rep
        )
    gaps = {m["title"]: m["gaps"] for m in exc.value.details["missing"]}
    assert gaps["Proposal approved"][0].startswith("Have a proposal approved")
    proposal = services.proposal_create(actor=rep, opportunity_id=deal.pk, **proposal_data())
    services.proposal_submit(actor=rep, proposal_id=proposal.pk)
    with pytest.raises(GateNotMet):  # in review is not approved
        pipeline_services.opportunity_advance(
            opportunity_id=deal.pk, stage_id=pipeline.proposal.pk, actor=rep
        )
    services.proposal_approve(actor=manager, proposal_id=proposal.pk, checked_items=all_items())
    # The other milestones of Qualify still block; the proposal one no longer does.
    with pytest.raises(GateNotMet) as exc:
        pipeline_services.opportunity_advance(
            opportunity_id=deal.pk, stage_id=pipeline.proposal.pk, actor=rep
        )
    assert "Proposal approved" not in {m["title"] for m in exc.value.details["missing"]}


def test_reviewers_without_a_team_manager_are_the_leaders(pipeline, leader):
    lone = UserFactory(username="lone", role=Role.REP, team=None)
    assert services._reviewers_of(lone) == [leader]
