"""A stage move asks before overwriting a manual forecast category (issue 6).

The database after each decision, and unchanged after every refusal."""

from __future__ import annotations

import pytest

from pipeline import services
from pipeline.models import Opportunity, OpportunityChange
from salesops.exceptions import Conflict, GateNotMet, ValidationFailed
from salesops.models import AuditEvent
from tests.factories import OpportunityFactory
from tests.pipeline.test_services import tick_all


def state(opp: Opportunity) -> tuple:
    opp.refresh_from_db()
    return (
        opp.stage_id,
        opp.status,
        opp.forecast_category,
        opp.forecast_category_override_reason,
        opp.version,
        OpportunityChange.objects.filter(opportunity=opp).count(),
        AuditEvent.objects.filter(action="opportunity.advanced").count(),
    )


@pytest.fixture
def committed(rep, pipeline):
    """A deal in Qualify (default: Pipeline) the rep set to Commit by hand, gate to
    Proposal (default: Best case) met."""
    opp = OpportunityFactory(
        owner=rep,
        stage=pipeline.qualify,
        forecast_category="commit",
        forecast_category_override_reason="Signed LOI",
    )
    tick_all(opp, pipeline.qualify, rep)
    return opp


def advance(opp, stage, actor, **kwargs):
    return services.opportunity_advance(
        opportunity_id=opp.pk, stage_id=stage.pk, actor=actor, **kwargs
    )


def test_move_without_a_decision_asks_and_saves_nothing(committed, rep, pipeline):
    before = state(committed)
    with pytest.raises(Conflict) as exc:
        advance(committed, pipeline.proposal, rep)
    assert exc.value.code == "category_override_decision"
    assert exc.value.status == 409
    assert exc.value.message == (
        "This deal's forecast category was set by hand to Commit (reason: Signed LOI). "
        "Stage 'Proposal' defaults to Best case. Keep Commit or use Best case?"
    )
    details = exc.value.details
    assert {k: details[k] for k in ("current_category", "override_reason", "stage_default")} == {
        "current_category": "commit",
        "override_reason": "Signed LOI",
        "stage_default": "best_case",
    }
    assert details["target_stage"] == pipeline.proposal.pk
    assert details["target_stage_name"] == "Proposal"
    assert [(c["value"], c["category"], c["label"]) for c in details["choices"]] == [
        ("keep", "commit", "Keep Commit"),
        ("follow", "best_case", "Use Best case"),
    ]
    assert state(committed) == before


@pytest.mark.parametrize("decision", ["", None])
def test_an_empty_decision_is_no_decision(committed, rep, pipeline, decision):
    before = state(committed)
    with pytest.raises(Conflict):
        advance(committed, pipeline.proposal, rep, forecast_category_on_move=decision)
    assert state(committed) == before


def test_keep_moves_and_keeps_the_override(committed, rep, pipeline):
    version = committed.version
    advance(committed, pipeline.proposal, rep, forecast_category_on_move="keep")
    committed.refresh_from_db()
    assert committed.stage == pipeline.proposal
    assert committed.forecast_category == "commit"
    assert committed.forecast_category_override_reason == "Signed LOI"
    assert committed.version == version + 1
    changes = list(committed.changes.filter(changed_by=rep).values_list("field", flat=True))
    assert changes == ["stage"]  # no category row: the category did not change
    event = AuditEvent.objects.get(action="opportunity.advanced")
    assert event.data["forecast_category_on_move"] == "keep"


def test_follow_takes_the_stage_default_and_records_the_replacement(committed, rep, pipeline):
    advance(committed, pipeline.proposal, rep, forecast_category_on_move="follow")
    committed.refresh_from_db()
    assert committed.stage == pipeline.proposal
    assert committed.forecast_category == "best_case"
    assert committed.forecast_category_override_reason == ""
    change = committed.changes.get(field="forecast_category", changed_by=rep)
    assert (change.old_value, change.new_value) == ("commit", "best_case")
    assert (change.old_display, change.new_display) == ("Commit", "Best case")
    assert change.note == (
        "Manual override replaced by the default of stage 'Proposal' on the stage move, "
        "by rep (it was: Signed LOI)"
    )
    # The override's own history row stays as it was: history is append-only.
    assert (
        AuditEvent.objects.get(action="opportunity.advanced").data["forecast_category_on_move"]
        == "follow"
    )


def test_after_follow_the_category_follows_later_moves_without_asking(committed, rep, pipeline):
    advance(committed, pipeline.proposal, rep, forecast_category_on_move="follow")
    advance(committed, pipeline.qualify, rep)
    committed.refresh_from_db()
    assert (committed.stage, committed.forecast_category) == (pipeline.qualify, "pipeline")


def test_a_kept_override_is_asked_about_again_on_the_next_move(committed, rep, pipeline):
    advance(committed, pipeline.proposal, rep, forecast_category_on_move="keep")
    before = state(committed)
    with pytest.raises(Conflict) as exc:
        advance(committed, pipeline.qualify, rep)  # backwards: no gate, still a question
    assert exc.value.details["stage_default"] == "pipeline"
    assert state(committed) == before


def test_override_equal_to_the_stage_default_is_kept_without_a_question(rep, pipeline):
    opp = OpportunityFactory(
        owner=rep,
        stage=pipeline.qualify,
        forecast_category="best_case",
        forecast_category_override_reason="Budget approved early",
    )
    tick_all(opp, pipeline.qualify, rep)
    advance(opp, pipeline.proposal, rep)
    opp.refresh_from_db()
    assert opp.stage == pipeline.proposal
    assert (opp.forecast_category, opp.forecast_category_override_reason) == (
        "best_case",
        "Budget approved early",
    )
    assert not opp.changes.filter(field="forecast_category", changed_by=rep).exists()


def test_without_override_the_category_follows_the_stage(rep, pipeline):
    opp = OpportunityFactory(owner=rep, stage=pipeline.qualify)
    tick_all(opp, pipeline.qualify, rep)
    advance(opp, pipeline.proposal, rep)
    opp.refresh_from_db()
    assert opp.forecast_category == "best_case"
    change = opp.changes.get(field="forecast_category", changed_by=rep)
    assert change.note == "Follows stage 'Proposal'"


@pytest.mark.parametrize("bad", ["maybe", "KEEP", " keep", 1, ["keep"]])
def test_a_bad_decision_is_a_field_error_and_saves_nothing(committed, rep, pipeline, bad):
    before = state(committed)
    with pytest.raises(ValidationFailed) as exc:
        advance(committed, pipeline.proposal, rep, forecast_category_on_move=bad)
    assert list(exc.value.details) == ["forecast_category_on_move"]
    assert state(committed) == before


def test_a_bad_decision_is_refused_even_when_nothing_would_be_asked(opportunity, rep, pipeline):
    before = state(opportunity)
    with pytest.raises(ValidationFailed):
        advance(
            opportunity, pipeline.lost, rep, loss_reason="Budget", forecast_category_on_move="x"
        )
    assert state(opportunity) == before


def test_the_gate_answers_before_the_question(rep, pipeline):
    opp = OpportunityFactory(
        owner=rep,
        stage=pipeline.qualify,
        forecast_category="commit",
        forecast_category_override_reason="Signed LOI",
    )  # Qualify's milestone is open
    before = state(opp)
    with pytest.raises(GateNotMet):
        advance(opp, pipeline.proposal, rep)
    assert state(opp) == before


def test_a_manager_gate_override_then_the_question(rep, manager, pipeline):
    opp = OpportunityFactory(
        owner=rep,
        stage=pipeline.qualify,
        forecast_category="commit",
        forecast_category_override_reason="Signed LOI",
    )
    before = state(opp)
    with pytest.raises(Conflict) as exc:
        advance(opp, pipeline.proposal, manager, override_reason="Customer in a hurry")
    assert exc.value.code == "category_override_decision"
    assert state(opp) == before
    advance(
        opp,
        pipeline.proposal,
        manager,
        override_reason="Customer in a hurry",
        forecast_category_on_move="keep",
    )
    opp.refresh_from_db()
    assert (opp.stage, opp.forecast_category) == (pipeline.proposal, "commit")
    assert opp.changes.get(field="stage", changed_by=manager).override_reason == (
        "Customer in a hurry"
    )


@pytest.mark.parametrize(
    ("close", "category", "status"),
    [
        (
            lambda o, a: services.opportunity_close_won(opportunity_id=o.pk, actor=a),
            "closed",
            "won",
        ),
        (
            lambda o, a: services.opportunity_close_lost(
                opportunity_id=o.pk, actor=a, loss_reason="Budget cut"
            ),
            "omitted",
            "lost",
        ),
    ],
)
def test_closing_never_asks(rep, pipeline, close, category, status):
    opp = OpportunityFactory(
        owner=rep,
        stage=pipeline.proposal,
        forecast_category="commit",
        forecast_category_override_reason="Signed LOI",
    )
    close(opp, rep)
    opp.refresh_from_db()
    assert (opp.status, opp.forecast_category, opp.forecast_category_override_reason) == (
        status,
        category,
        "",
    )


def test_advance_to_a_closed_stage_ignores_the_decision(rep, pipeline):
    opp = OpportunityFactory(
        owner=rep,
        stage=pipeline.proposal,
        forecast_category="commit",
        forecast_category_override_reason="Signed LOI",
    )
    advance(opp, pipeline.lost, rep, loss_reason="Budget cut", forecast_category_on_move="keep")
    opp.refresh_from_db()
    assert (opp.status, opp.forecast_category) == ("lost", "omitted")


def test_a_long_reason_is_shortened_in_the_message_but_whole_in_the_details(rep, pipeline):
    reason = "x" * 500
    opp = OpportunityFactory(
        owner=rep,
        stage=pipeline.proposal,
        forecast_category="commit",
        forecast_category_override_reason=reason,
    )
    with pytest.raises(Conflict) as exc:
        advance(opp, pipeline.qualify, rep)
    assert "x" * 199 + "…" in exc.value.message and "x" * 200 not in exc.value.message
    assert exc.value.details["override_reason"] == reason


def test_the_replacement_note_keeps_the_whole_reason(rep, pipeline):
    opp = OpportunityFactory(
        owner=rep,
        stage=pipeline.proposal,
        forecast_category="commit",
        forecast_category_override_reason="y" * 10_000,
    )
    advance(opp, pipeline.qualify, rep, forecast_category_on_move="follow")
    change = opp.changes.get(field="forecast_category", changed_by=rep)
    assert change.note.startswith("Manual override replaced")
    assert change.note.endswith("y" * 10_000 + ")")
