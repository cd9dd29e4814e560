"""Suggestions: accepting changes the stage's rules through the pipeline services (a new
rules version, logged); refusals change nothing; dismissing needs a reason."""

from __future__ import annotations

import pytest
from django.utils import timezone

from insights import services
from insights.models import Suggestion, SuggestionKind, SuggestionStatus
from pipeline.models import Milestone, StageRuleChange
from salesops.exceptions import Conflict, PermissionDenied, StaleVersion, ValidationFailed
from tests.factories import OpportunityFactory


@pytest.fixture
def optional_milestone(pipeline):
    return Milestone.objects.get(stage=pipeline.proposal, required=False)


@pytest.fixture
def suggestion(pipeline, optional_milestone, rep):
    OpportunityFactory(owner=rep, stage=pipeline.discover)  # the pipeline holds a deal
    return Suggestion.objects.create(
        stage=pipeline.proposal,
        kind=SuggestionKind.REQUIRE_MILESTONE,
        behaviour=f"milestone:{optional_milestone.pk}",
        title=f"Require '{optional_milestone.title}' before a deal leaves Proposal",
        proposal={"milestone": optional_milestone.pk},
        evidence={"sentence": "Top performers in 90 % of cases, the rest in 40 %."},
        created_at=timezone.now(),
    )


def test_accept_requires_the_milestone_as_a_new_rules_version(
    suggestion, optional_milestone, admin_user, pipeline
):
    done = services.suggestion_accept(suggestion_id=suggestion.pk, actor=admin_user)

    optional_milestone.refresh_from_db()
    assert optional_milestone.required is True
    change = StageRuleChange.objects.get(stage=pipeline.proposal)
    pipeline.proposal.refresh_from_db()
    assert change.version == pipeline.proposal.rules_version == 2
    assert change.changes == [
        {"milestone": optional_milestone.pk, "title": optional_milestone.title,
         "what": "required", "after": True}
    ]  # fmt: skip
    assert f"#{suggestion.pk}" in change.note
    assert done.status == SuggestionStatus.ACCEPTED
    assert done.rule_change == change and done.decided_by == admin_user


def test_a_sales_leader_accepts_as_they_edit_the_stages_rules(
    suggestion, optional_milestone, leader
):
    done = services.suggestion_accept(suggestion_id=suggestion.pk, actor=leader)
    optional_milestone.refresh_from_db()
    assert optional_milestone.required is True
    assert done.status == SuggestionStatus.ACCEPTED and done.decided_by == leader
    assert StageRuleChange.objects.get().changed_by == leader


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_only_those_who_configure_accept_and_a_refusal_changes_nothing(
    request, who, suggestion, optional_milestone
):
    with pytest.raises(PermissionDenied):
        services.suggestion_accept(suggestion_id=suggestion.pk, actor=request.getfixturevalue(who))
    optional_milestone.refresh_from_db()
    assert optional_milestone.required is False
    assert not StageRuleChange.objects.exists()
    assert Suggestion.objects.get().status == SuggestionStatus.OPEN


def test_accept_twice_is_a_conflict_and_a_stale_version_is_refused(suggestion, admin_user):
    with pytest.raises(StaleVersion):
        services.suggestion_accept(
            suggestion_id=suggestion.pk, actor=admin_user, expected_version=99
        )
    assert not StageRuleChange.objects.exists()
    services.suggestion_accept(suggestion_id=suggestion.pk, actor=admin_user)
    with pytest.raises(Conflict):
        services.suggestion_accept(suggestion_id=suggestion.pk, actor=admin_user)
    assert StageRuleChange.objects.count() == 1


def test_accepting_what_is_already_in_place_is_refused_whole(
    suggestion, optional_milestone, admin_user
):
    Milestone.objects.filter(pk=optional_milestone.pk).update(required=True)
    with pytest.raises(Conflict) as exc:
        services.suggestion_accept(suggestion_id=suggestion.pk, actor=admin_user)
    assert exc.value.code == "suggestion_in_place"
    assert Suggestion.objects.get().status == SuggestionStatus.OPEN
    assert not StageRuleChange.objects.exists()


def test_dismiss_needs_a_reason_and_keeps_it(suggestion, admin_user, optional_milestone):
    with pytest.raises(ValidationFailed) as exc:
        services.suggestion_dismiss(suggestion_id=suggestion.pk, actor=admin_user, reason="  ")
    assert "reason" in exc.value.details
    assert Suggestion.objects.get().status == SuggestionStatus.OPEN

    services.suggestion_dismiss(
        suggestion_id=suggestion.pk, actor=admin_user, reason="Legal covers this already."
    )
    saved = Suggestion.objects.get()
    assert saved.status == SuggestionStatus.DISMISSED
    assert saved.dismiss_reason == "Legal covers this already."
    optional_milestone.refresh_from_db()
    assert optional_milestone.required is False
    assert not StageRuleChange.objects.exists()
