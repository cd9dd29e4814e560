"""Pipeline services: the database after success, and unchanged after every refusal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from pipeline import services
from pipeline.models import (
    Account,
    Activity,
    BusinessIssue,
    Milestone,
    MilestoneCompletion,
    Opportunity,
    OpportunityChange,
)
from salesops.exceptions import (
    Conflict,
    GateNotMet,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
)
from salesops.models import AuditEvent
from tests.factories import AccountFactory, MilestoneFactory, OpportunityFactory, StageFactory


def snapshot(opp: Opportunity) -> tuple:
    opp.refresh_from_db()
    return (
        opp.stage_id,
        opp.status,
        opp.amount,
        opp.close_date,
        opp.forecast_category,
        opp.version,
        OpportunityChange.objects.filter(opportunity=opp).count(),
    )


def tick_all(opp, stage, actor):
    for m in Milestone.objects.filter(stage=stage):
        services.milestone_complete(
            opportunity_id=opp.pk,
            milestone_id=m.pk,
            actor=actor,
            evidence="CFO confirmed in writing",
        )


# --- create ------------------------------------------------------------------------


def test_create_starts_in_first_stage_with_history(rep, pipeline):
    account = AccountFactory()
    opp = services.opportunity_create(
        actor=rep, name=" Acme ", account=account, close_date="2026-12-31", amount="1200.5"
    )
    opp.refresh_from_db()
    assert (opp.name, opp.stage, opp.owner, opp.amount) == (
        "Acme",
        pipeline.discover,
        rep,
        Decimal("1200.50"),
    )
    assert opp.forecast_category == "pipeline" and opp.status == "open" and opp.version == 1
    fields = set(OpportunityChange.objects.filter(opportunity=opp).values_list("field", flat=True))
    assert fields == {"stage", "amount", "close_date", "forecast_category"}
    assert AuditEvent.objects.filter(action="opportunity.created", target_id=opp.pk).exists()


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("amount", {"amount": "-1"}),
        ("amount", {"amount": "abc"}),
        ("close_date", {"close_date": "31.12.2026"}),
        ("name", {"name": "   "}),
        ("currency", {"currency": "EURO"}),
        ("forecast_category", {"forecast_category": "closed"}),
        ("forecast_category_override_reason", {"forecast_category": "commit"}),
    ],
)
def test_create_refuses_bad_input_and_saves_nothing(rep, pipeline, field, kwargs):
    data = {
        "actor": rep,
        "name": "Deal",
        "account": AccountFactory(),
        "close_date": "2026-12-31",
        "amount": "100",
        **kwargs,
    }
    with pytest.raises(ValidationFailed) as exc:
        services.opportunity_create(**data)
    assert field in exc.value.details
    assert Opportunity.objects.count() == 0 and OpportunityChange.objects.count() == 0


def test_create_refuses_owner_rep_may_not_assign(rep, teammate, pipeline):
    with pytest.raises(ValidationFailed) as exc:
        services.opportunity_create(
            actor=rep, owner=teammate, name="X", account=AccountFactory(), close_date="2026-12-31"
        )
    assert "owner" in exc.value.details
    assert Opportunity.objects.count() == 0


def test_manager_may_assign_to_team_member_but_not_other_team(manager, rep, other_rep, pipeline):
    opp = services.opportunity_create(
        actor=manager, owner=rep, name="X", account=AccountFactory(), close_date="2026-12-31"
    )
    assert opp.owner == rep
    with pytest.raises(ValidationFailed):
        services.opportunity_create(
            actor=manager,
            owner=other_rep,
            name="Y",
            account=AccountFactory(),
            close_date="2026-12-31",
        )
    assert Opportunity.objects.count() == 1


def test_create_with_new_account_saves_both_or_neither(rep, pipeline):
    with pytest.raises(ValidationFailed):
        services.opportunity_create(
            actor=rep, name="Deal", account=None, new_account_name="Globex", close_date="bad"
        )
    assert not Account.objects.filter(name="Globex").exists()
    opp = services.opportunity_create(
        actor=rep, name="Deal", account=None, new_account_name="Globex", close_date="2026-12-31"
    )
    assert opp.account.name == "Globex"
    with pytest.raises(ValidationFailed) as exc:
        services.opportunity_create(actor=rep, name="Deal", account=None, close_date="2026-12-31")
    assert "account" in exc.value.details


def test_duplicate_external_id_refused(rep, pipeline):
    acc = AccountFactory()
    services.opportunity_create(
        actor=rep, name="A", account=acc, close_date="2026-12-31", source="crm", external_id="42"
    )
    with pytest.raises(ValidationFailed) as exc:
        services.opportunity_create(
            actor=rep,
            name="B",
            account=acc,
            close_date="2026-12-31",
            source="crm",
            external_id="42",
        )
    assert "external_id" in exc.value.details
    assert Opportunity.objects.count() == 1


# --- update --------------------------------------------------------------------------


def test_update_records_history_and_bumps_version(opportunity, rep):
    services.opportunity_update(
        opportunity_id=opportunity.pk,
        actor=rep,
        amount="20000",
        close_date=dt.date(2027, 1, 15),
        next_step="Send proposal",
        expected_version=1,
    )
    opportunity.refresh_from_db()
    assert opportunity.amount == Decimal("20000.00") and opportunity.version == 2
    changes = {c.field: c for c in opportunity.changes.all()}
    assert changes["amount"].old_value == "10000.00" and changes["amount"].new_value == "20000.00"
    assert changes["close_date"].new_value == "2027-01-15"
    assert changes["amount"].changed_by == rep


def test_update_stale_version_refused(opportunity, rep):
    before = snapshot(opportunity)
    with pytest.raises(StaleVersion):
        services.opportunity_update(
            opportunity_id=opportunity.pk, actor=rep, amount="5", expected_version=7
        )
    assert snapshot(opportunity) == before


@pytest.mark.parametrize("field", ["stage", "status", "version", "stage_entered_at", "changes"])
def test_update_refuses_protected_fields(opportunity, rep, pipeline, field):
    before = snapshot(opportunity)
    value = {"stage": pipeline.proposal, "status": "won", "version": 9}.get(field, "x")
    with pytest.raises(ValidationFailed) as exc:
        services.opportunity_update(opportunity_id=opportunity.pk, actor=rep, **{field: value})
    assert field in exc.value.details
    assert snapshot(opportunity) == before


def test_update_forecast_override_needs_reason_and_is_kept(opportunity, rep):
    with pytest.raises(ValidationFailed):
        services.opportunity_update(
            opportunity_id=opportunity.pk, actor=rep, forecast_category="commit"
        )
    opportunity.refresh_from_db()
    assert opportunity.forecast_category == "pipeline"
    services.opportunity_update(
        opportunity_id=opportunity.pk,
        actor=rep,
        forecast_category="commit",
        forecast_category_override_reason="PO is in procurement",
    )
    change = opportunity.changes.get(field="forecast_category", old_value="pipeline")
    assert change.new_value == "commit" and change.override_reason == "PO is in procurement"


def test_update_invisible_opportunity_is_not_found(opportunity, teammate, other_manager):
    for actor in (teammate, other_manager):
        with pytest.raises(NotFound):
            services.opportunity_update(opportunity_id=opportunity.pk, actor=actor, amount="1")
    opportunity.refresh_from_db()
    assert opportunity.amount == Decimal("10000.00")


# --- the gate -------------------------------------------------------------------------


def test_advance_refused_lists_missing_and_changes_nothing(opportunity, rep, pipeline):
    before = snapshot(opportunity)
    with pytest.raises(GateNotMet) as exc:
        services.opportunity_advance(
            opportunity_id=opportunity.pk, stage_id=pipeline.qualify.pk, actor=rep
        )
    titles = [m["title"] for m in exc.value.details["missing"]]
    assert titles == ["Pain identified", "Economic buyer confirmed the problem is worth solving"]
    assert exc.value.details["can_override"] is False
    assert snapshot(opportunity) == before


def test_advance_after_milestones_met(opportunity, rep, pipeline):
    tick_all(opportunity, pipeline.discover, rep)
    opp = services.opportunity_advance(
        opportunity_id=opportunity.pk, stage_id=pipeline.qualify.pk, actor=rep
    )
    opp.refresh_from_db()
    assert opp.stage == pipeline.qualify and opp.version == 2
    change = opp.changes.get(field="stage")
    assert (change.old_display, change.new_display, change.override_reason) == (
        "Discover",
        "Qualify",
        "",
    )


def test_skipping_a_stage_needs_its_milestones_too(opportunity, rep, pipeline):
    tick_all(opportunity, pipeline.discover, rep)
    with pytest.raises(GateNotMet) as exc:
        services.opportunity_advance(
            opportunity_id=opportunity.pk, stage_id=pipeline.proposal.pk, actor=rep
        )
    assert [m["title"] for m in exc.value.details["missing"]] == [
        "Decision process mapped with the customer"
    ]


def test_rep_cannot_override(opportunity, rep, pipeline):
    before = snapshot(opportunity)
    with pytest.raises(PermissionDenied) as exc:
        services.opportunity_advance(
            opportunity_id=opportunity.pk,
            stage_id=pipeline.qualify.pk,
            actor=rep,
            override_reason="trust me",
        )
    assert exc.value.code == "override_not_allowed"
    assert snapshot(opportunity) == before


def test_manager_override_needs_reason_and_is_recorded(opportunity, manager, pipeline):
    with pytest.raises(GateNotMet) as exc:
        services.opportunity_advance(
            opportunity_id=opportunity.pk,
            stage_id=pipeline.qualify.pk,
            actor=manager,
            override_reason="   ",
        )
    assert exc.value.details["can_override"] is True
    services.opportunity_advance(
        opportunity_id=opportunity.pk,
        stage_id=pipeline.qualify.pk,
        actor=manager,
        override_reason="Met the CFO myself",
    )
    change = opportunity.changes.get(field="stage")
    assert change.override_reason == "Met the CFO myself" and change.changed_by == manager
    assert "Pain identified" in change.note


def test_manager_of_other_team_cannot_see_to_override(opportunity, other_manager, pipeline):
    with pytest.raises(NotFound):
        services.opportunity_advance(
            opportunity_id=opportunity.pk,
            stage_id=pipeline.qualify.pk,
            actor=other_manager,
            override_reason="x",
        )


def test_advance_refuses_stage_of_other_pipeline_and_same_stage(opportunity, rep, pipeline):
    foreign = StageFactory(name="Elsewhere")
    before = snapshot(opportunity)
    with pytest.raises(ValidationFailed) as exc:
        services.opportunity_advance(opportunity_id=opportunity.pk, stage_id=foreign.pk, actor=rep)
    assert "another pipeline" in exc.value.details["stage"][0]
    with pytest.raises(Conflict):
        services.opportunity_advance(
            opportunity_id=opportunity.pk, stage_id=pipeline.discover.pk, actor=rep
        )
    with pytest.raises(ValidationFailed):
        services.opportunity_advance(opportunity_id=opportunity.pk, stage_id=999999, actor=rep)
    assert snapshot(opportunity) == before


def test_backwards_move_is_free_and_category_follows_stage(rep, pipeline):
    opp = OpportunityFactory(owner=rep, stage=pipeline.proposal)
    services.opportunity_advance(opportunity_id=opp.pk, stage_id=pipeline.qualify.pk, actor=rep)
    opp.refresh_from_db()
    assert opp.stage == pipeline.qualify and opp.forecast_category == "pipeline"


def test_manual_category_survives_stage_move_only_when_kept(rep, pipeline):
    # A manual override is never silently kept against another stage default: the move
    # asks (test_services_category_override.py has the whole rule), "keep" keeps it.
    opp = OpportunityFactory(
        owner=rep,
        stage=pipeline.qualify,
        forecast_category="commit",
        forecast_category_override_reason="Signed LOI",
    )
    tick_all(opp, pipeline.qualify, rep)
    before = snapshot(opp)
    with pytest.raises(Conflict):
        services.opportunity_advance(
            opportunity_id=opp.pk, stage_id=pipeline.proposal.pk, actor=rep
        )
    assert snapshot(opp) == before
    services.opportunity_advance(
        opportunity_id=opp.pk,
        stage_id=pipeline.proposal.pk,
        actor=rep,
        forecast_category_on_move="keep",
    )
    opp.refresh_from_db()
    assert (opp.stage, opp.forecast_category) == (pipeline.proposal, "commit")


# --- closing ------------------------------------------------------------------------


def test_close_won_needs_final_milestones(rep, pipeline):
    opp = OpportunityFactory(owner=rep, stage=pipeline.proposal)
    MilestoneFactory(stage=pipeline.proposal, title="Contract signed", required=True)
    before = snapshot(opp)
    with pytest.raises(GateNotMet):
        services.opportunity_close_won(opportunity_id=opp.pk, actor=rep)
    assert snapshot(opp) == before
    tick_all(opp, pipeline.proposal, rep)
    services.opportunity_close_won(opportunity_id=opp.pk, actor=rep)
    opp.refresh_from_db()
    assert (opp.status, opp.stage, opp.forecast_category) == ("won", pipeline.won, "closed")
    assert opp.closed_at is not None
    assert opp.changes.filter(field="status", new_value="won").exists()


def test_close_lost_needs_reason(opportunity, rep, pipeline):
    before = snapshot(opportunity)
    with pytest.raises(ValidationFailed) as exc:
        services.opportunity_close_lost(opportunity_id=opportunity.pk, actor=rep, loss_reason=" ")
    assert "loss_reason" in exc.value.details
    assert snapshot(opportunity) == before
    services.opportunity_close_lost(
        opportunity_id=opportunity.pk, actor=rep, loss_reason="Chose a competitor on price"
    )
    opportunity.refresh_from_db()
    assert opportunity.status == "lost" and opportunity.loss_reason == "Chose a competitor on price"
    assert opportunity.forecast_category == "omitted"


def test_closed_opportunity_cannot_change(opportunity, rep, pipeline):
    services.opportunity_close_lost(
        opportunity_id=opportunity.pk, actor=rep, loss_reason="No budget"
    )
    before = snapshot(opportunity)
    with pytest.raises(Conflict):
        services.opportunity_update(opportunity_id=opportunity.pk, actor=rep, amount="1")
    with pytest.raises(Conflict):
        services.opportunity_advance(
            opportunity_id=opportunity.pk, stage_id=pipeline.qualify.pk, actor=rep
        )
    assert snapshot(opportunity) == before


# --- milestones ------------------------------------------------------------------------


def test_milestone_evidence_required(opportunity, rep, pipeline):
    needs = Milestone.objects.get(stage=pipeline.discover, requires_evidence=True)
    with pytest.raises(ValidationFailed) as exc:
        services.milestone_complete(
            opportunity_id=opportunity.pk, milestone_id=needs.pk, actor=rep, evidence=" "
        )
    assert "evidence" in exc.value.details
    assert MilestoneCompletion.objects.count() == 0
    c = services.milestone_complete(
        opportunity_id=opportunity.pk,
        milestone_id=needs.pk,
        actor=rep,
        evidence="CFO email 12 March",
    )
    assert c.completed_by == rep and c.evidence == "CFO email 12 March"


def test_milestone_complete_twice_keeps_one_row_and_uncomplete(opportunity, rep, pipeline):
    m = Milestone.objects.get(stage=pipeline.discover, requires_evidence=False)
    services.milestone_complete(opportunity_id=opportunity.pk, milestone_id=m.pk, actor=rep)
    services.milestone_complete(opportunity_id=opportunity.pk, milestone_id=m.pk, actor=rep)
    assert MilestoneCompletion.objects.filter(opportunity=opportunity).count() == 1
    services.milestone_uncomplete(opportunity_id=opportunity.pk, milestone_id=m.pk, actor=rep)
    assert MilestoneCompletion.objects.filter(opportunity=opportunity).count() == 0


def test_milestone_of_other_pipeline_not_found(opportunity, rep):
    foreign = MilestoneFactory()
    with pytest.raises(NotFound):
        services.milestone_complete(
            opportunity_id=opportunity.pk, milestone_id=foreign.pk, actor=rep
        )
    assert MilestoneCompletion.objects.count() == 0


def test_automatic_milestone_met_by_business_issue(opportunity, rep, pipeline):
    auto = MilestoneFactory(
        stage=pipeline.discover, title="Issue mapped to value", auto_check="business_issue_mapped"
    )
    with pytest.raises(Conflict):
        services.milestone_complete(opportunity_id=opportunity.pk, milestone_id=auto.pk, actor=rep)
    tick_all_manual = Milestone.objects.filter(stage=pipeline.discover, auto_check="")
    for m in tick_all_manual:
        services.milestone_complete(
            opportunity_id=opportunity.pk, milestone_id=m.pk, actor=rep, evidence="confirmed"
        )
    with pytest.raises(GateNotMet) as exc:
        services.opportunity_advance(
            opportunity_id=opportunity.pk, stage_id=pipeline.qualify.pk, actor=rep
        )
    assert [m["title"] for m in exc.value.details["missing"]] == ["Issue mapped to value"]
    services.business_issue_create(
        opportunity_id=opportunity.pk,
        actor=rep,
        issue="Invoices matched by hand",
        our_value="Auto-matching",
        quantified_value="120000",
    )
    services.opportunity_advance(
        opportunity_id=opportunity.pk, stage_id=pipeline.qualify.pk, actor=rep
    )
    opportunity.refresh_from_db()
    assert opportunity.stage == pipeline.qualify


# --- business issues and activities ------------------------------------------------------


def test_business_issue_validation(opportunity, rep):
    with pytest.raises(ValidationFailed) as exc:
        services.business_issue_create(
            opportunity_id=opportunity.pk, actor=rep, issue="", quantified_value="-5"
        )
    assert set(exc.value.details) == {"issue", "quantified_value"}
    assert BusinessIssue.objects.count() == 0


def test_activity_moves_last_activity_only_for_customer_contact(opportunity, rep):
    services.activity_log(opportunity_id=opportunity.pk, actor=rep, kind="note", subject="Thoughts")
    opportunity.refresh_from_db()
    assert opportunity.last_activity_at is None
    services.activity_log(opportunity_id=opportunity.pk, actor=rep, kind="call", subject="Call CFO")
    opportunity.refresh_from_db()
    assert opportunity.last_activity_at is not None


def test_activity_refuses_future_and_unknown_kind(opportunity, rep):
    with pytest.raises(ValidationFailed) as exc:
        services.activity_log(
            opportunity_id=opportunity.pk,
            actor=rep,
            kind="fax",
            subject="",
            occurred_at=timezone.now() + dt.timedelta(days=2),
        )
    assert set(exc.value.details) == {"kind", "subject", "occurred_at"}
    assert Activity.objects.count() == 0


# --- upsert, delete, history -----------------------------------------------------------


def test_upsert_twice_makes_one_row(rep, pipeline):
    data = {
        "name": "Synced",
        "account": AccountFactory(),
        "close_date": "2026-12-31",
        "amount": "100",
    }
    opp1, created1 = services.opportunity_upsert_by_external_id(
        actor=rep, source="hubspot", external_id="77", data=data
    )
    opp2, created2 = services.opportunity_upsert_by_external_id(
        actor=rep, source="hubspot", external_id="77", data={**data, "amount": "150"}
    )
    assert (created1, created2) == (True, False) and opp1.pk == opp2.pk
    assert Opportunity.objects.count() == 1
    opp2.refresh_from_db()
    assert opp2.amount == Decimal("150.00")


def test_upsert_of_invisible_record_is_not_found(opportunity, teammate):
    # As if it did not exist (not a Conflict that would tell it does); see the API test.
    Opportunity.objects.filter(pk=opportunity.pk).update(source="crm", external_id="9")
    with pytest.raises(NotFound):
        services.opportunity_upsert_by_external_id(
            actor=teammate, source="crm", external_id="9", data={"name": "hijack"}
        )
    opportunity.refresh_from_db()
    assert opportunity.name == "Acme rollout"


def test_only_admin_deletes(opportunity, rep, leader, admin_user):
    for actor in (rep, leader):
        with pytest.raises(PermissionDenied):
            services.opportunity_delete(opportunity_id=opportunity.pk, actor=actor)
    assert Opportunity.objects.filter(pk=opportunity.pk).exists()
    services.opportunity_delete(opportunity_id=opportunity.pk, actor=admin_user)
    assert not Opportunity.objects.filter(pk=opportunity.pk).exists()


def test_history_is_append_only_in_the_database(opportunity, rep):
    services.opportunity_update(opportunity_id=opportunity.pk, actor=rep, amount="1")
    change = opportunity.changes.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        type(change).objects.filter(pk=change.pk).update(new_value="tampered")
    change.refresh_from_db()
    assert change.new_value == "1.00"


def test_amount_constraint_in_database(opportunity):
    with pytest.raises(IntegrityError), transaction.atomic():
        Opportunity.objects.filter(pk=opportunity.pk).update(amount=Decimal("-1"))
