"""A stage's exit rules are versioned: each change to what its gate requires, once the
pipeline holds deals, is logged (append-only) as the stage's next rules version."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from pipeline import services
from pipeline.models import Milestone, StageRuleChange
from salesops.exceptions import PermissionDenied
from tests.factories import OpportunityFactory


def test_changes_to_an_unused_pipeline_are_set_up_not_versions(pipeline, admin_user):
    services.milestone_create(
        actor=admin_user, stage=pipeline.qualify, title="Budget confirmed", kind="buyer_commitment"
    )
    assert not StageRuleChange.objects.exists()
    pipeline.qualify.refresh_from_db()
    assert pipeline.qualify.rules_version == 1


def test_each_gate_change_is_the_next_version(pipeline, admin_user, rep):
    OpportunityFactory(owner=rep, stage=pipeline.discover)
    added = services.milestone_create(
        actor=admin_user, stage=pipeline.qualify, title="Budget confirmed", kind="buyer_commitment"
    )
    services.milestone_update(milestone_id=added.pk, actor=admin_user, title="Budget agreed")
    services.milestone_update(milestone_id=added.pk, actor=admin_user, required=False)
    services.milestone_delete(milestone_id=added.pk, actor=admin_user)  # optional: no change

    changes = list(StageRuleChange.objects.order_by("version"))
    assert [(c.version, c.changes[0]["what"], c.changes[0]["after"]) for c in changes] == [
        (2, "required", True),
        (3, "required", False),
    ]  # a title change and deleting an optional milestone change no rule
    assert changes[0].summary == "Required 'Budget confirmed'"
    assert changes[0].changed_by == admin_user
    pipeline.qualify.refresh_from_db()
    assert pipeline.qualify.rules_version == 3


def test_a_refused_change_logs_nothing(pipeline, rep):
    OpportunityFactory(owner=rep, stage=pipeline.discover)
    milestone = Milestone.objects.filter(stage=pipeline.qualify).first()
    with pytest.raises(PermissionDenied):  # a rep may not change the framework
        services.milestone_update(milestone_id=milestone.pk, actor=rep, required=False)
    assert not StageRuleChange.objects.exists()


def test_the_log_is_append_only(pipeline, admin_user, rep):
    OpportunityFactory(owner=rep, stage=pipeline.discover)
    milestone = Milestone.objects.filter(stage=pipeline.qualify).first()
    services.milestone_update(milestone_id=milestone.pk, actor=admin_user, required=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        StageRuleChange.objects.update(summary="rewritten")
