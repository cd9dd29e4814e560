"""Setting up a pipeline: templates, placing and reordering stages, the stage limits, the
milestones' order. The database after success, and unchanged after every refusal."""

from __future__ import annotations

import pytest

from pipeline import services
from pipeline.blueprints import BLANK_STAGES, STAGES
from pipeline.models import (
    Milestone,
    MilestoneElementLevel,
    Pipeline,
    QualificationElement,
    QualificationFramework,
    Stage,
)
from pipeline.services import templates as template_services
from pipeline.standard_frameworks import ELEMENTS, FRAMEWORKS
from salesops.exceptions import NotFound, PermissionDenied, ValidationFailed
from salesops.models import AuditEvent
from tests.factories import MilestoneFactory, OpportunityFactory, StageFactory

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, ...]:
    """Everything a template writes."""
    return (
        Pipeline.objects.count(),
        Stage.objects.count(),
        Milestone.objects.count(),
        MilestoneElementLevel.objects.count(),
        QualificationFramework.objects.count(),
        QualificationElement.objects.count(),
        AuditEvent.objects.count(),
    )


def orders(pipeline: Pipeline) -> list[tuple[str, int]]:
    return list(pipeline.stages.order_by("order").values_list("name", "order"))


# --- templates -------------------------------------------------------------------------


def test_new_business_template_is_the_demo_pipeline(admin_user):
    pipeline = services.pipeline_create_from_template(
        actor=admin_user, template="new_business", name="Acme new business"
    )

    pipeline.refresh_from_db()
    assert pipeline.name == "Acme new business"
    assert pipeline.description.startswith("Net-new customers")
    assert pipeline.framework.name == "MEDDICC"
    stages = list(pipeline.stages.order_by("order"))
    assert [s.order for s in stages] == list(range(1, len(STAGES) + 1))
    for stage, spec in zip(stages, STAGES, strict=True):
        assert (
            stage.name, stage.probability, stage.forecast_category, stage.guidance,
            stage.expected_days, stage.warn_days, stage.rot_days, stage.is_won, stage.is_lost,
        ) == (
            spec.name, spec.probability, spec.category, spec.guidance, spec.expected,
            spec.warn, spec.rot, spec.is_won, spec.is_lost,
        )  # fmt: skip
        milestones = list(stage.milestones.order_by("order"))
        assert len(milestones) == len(spec.milestones)
        for position, (milestone, seed) in enumerate(
            zip(milestones, spec.milestones, strict=True), start=1
        ):
            assert (
                milestone.title, milestone.kind, milestone.description, milestone.required,
                milestone.requires_evidence, milestone.auto_check,
                milestone.min_qualification_score, milestone.order,
            ) == (
                seed.title, seed.kind, seed.description, seed.required,
                seed.requires_evidence, seed.auto_check, seed.min_score, position,
            )  # fmt: skip
            levels = {
                (lvl.element.name, lvl.min_level)
                for lvl in milestone.element_levels.select_related("element")
            }
            assert levels == set(seed.levels)
            assert all(
                lvl.element.framework_id == pipeline.framework_id
                for lvl in milestone.element_levels.select_related("element")
            )
    # The seeded framework is reused, not copied.
    assert QualificationFramework.objects.filter(name="MEDDICC").count() == 1
    assert AuditEvent.objects.filter(
        action="pipeline.created_from_template", target_id=pipeline.pk, actor=admin_user
    ).exists()
    # Written through the services: each stage and milestone has its own audit event.
    assert AuditEvent.objects.filter(action="stage.created").count() == len(STAGES)
    assert AuditEvent.objects.filter(action="milestone.created").count() == sum(
        len(s.milestones) for s in STAGES
    )


def test_blank_template(admin_user):
    pipeline = services.pipeline_create_from_template(
        actor=admin_user, template="blank", name="Renewals"
    )

    assert pipeline.framework is None
    stages = list(pipeline.stages.order_by("order"))
    assert [(s.name, s.probability, s.forecast_category) for s in stages] == [
        ("Discover", 10, "pipeline"),
        ("Qualify", 20, "pipeline"),
        ("Proposal", 60, "best_case"),
        ("Negotiate", 80, "commit"),
        ("Closed won", 100, "closed"),
        ("Closed lost", 0, "omitted"),
    ]
    assert len(stages) == len(BLANK_STAGES)
    assert [(s.is_won, s.is_lost) for s in stages[-2:]] == [(True, False), (False, True)]
    assert all(s.guidance == "" for s in stages)
    assert not Milestone.objects.filter(stage__pipeline=pipeline).exists()


def test_template_recreates_a_deleted_framework(admin_user):
    QualificationFramework.objects.filter(name="MEDDICC").delete()

    pipeline = services.pipeline_create_from_template(
        actor=admin_user, template="new_business", name="New business"
    )

    framework = pipeline.framework
    assert framework.name == "MEDDICC" and framework.is_active
    elements = list(framework.elements.order_by("order"))
    assert [e.name for e in elements] == list(FRAMEWORKS["MEDDICC"])
    assert [e.guidance for e in elements] == [ELEMENTS[e.name] for e in elements]
    assert {e.weight for e in elements} == {1}
    assert AuditEvent.objects.filter(action="qualification_framework.created").count() == 1
    assert MilestoneElementLevel.objects.filter(milestone__stage__pipeline=pipeline).count() == 5


def test_template_refused_to_a_manager_and_a_rep(manager, rep):
    before = counts()
    for user in (manager, rep):
        with pytest.raises(PermissionDenied) as exc:
            services.pipeline_create_from_template(actor=user, template="new_business", name="Mine")
        assert exc.value.message == (
            "Only an administrator or a sales leader can change pipelines, stages and milestones."
        )
    assert counts() == before


def test_a_sales_leader_sets_up_a_pipeline_from_a_template(leader):
    pipeline = services.pipeline_create_from_template(
        actor=leader, template="new_business", name="Leader's pipeline"
    )
    assert Pipeline.objects.get(pk=pipeline.pk).stages.count() == len(STAGES)
    assert AuditEvent.objects.filter(action="pipeline.created_from_template", actor=leader).exists()


def test_template_refuses_bad_input_all_at_once(admin_user, pipeline):
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        services.pipeline_create_from_template(actor=admin_user, template="nope", name=" ")
    assert set(exc.value.details) == {"template", "name"}
    assert "new_business" in exc.value.details["template"][0]
    for template in (None, 7, ["blank"]):
        with pytest.raises(ValidationFailed) as exc:
            services.pipeline_create_from_template(actor=admin_user, template=template, name="X")
        assert set(exc.value.details) == {"template"}
    # The name is taken (case-insensitively) by the conftest pipeline.
    with pytest.raises(ValidationFailed) as exc:
        services.pipeline_create_from_template(
            actor=admin_user, template="blank", name="NEW BUSINESS"
        )
    assert exc.value.details == {"name": ["A pipeline with this name exists."]}
    with pytest.raises(ValidationFailed) as exc:
        services.pipeline_create_from_template(actor=admin_user, template="blank", name="x" * 121)
    assert "name" in exc.value.details
    assert counts() == before


def test_template_refused_when_the_framework_lacks_an_element(admin_user):
    QualificationElement.objects.filter(framework__name="MEDDICC", name="Champion").update(
        name="Coach"
    )
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        services.pipeline_create_from_template(
            actor=admin_user, template="new_business", name="Acme"
        )
    assert "'Champion'" in exc.value.details["template"][0]
    assert counts() == before
    # The blank template needs no framework.
    services.pipeline_create_from_template(actor=admin_user, template="blank", name="Acme")


def test_template_refused_when_the_framework_is_inactive(admin_user):
    QualificationFramework.objects.filter(name="MEDDICC").update(is_active=False)
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        services.pipeline_create_from_template(
            actor=admin_user, template="new_business", name="Acme"
        )
    assert "inactive" in exc.value.details["template"][0]
    assert counts() == before


def test_template_failing_midway_writes_nothing(admin_user, monkeypatch):
    """A refusal after the framework, the pipeline and some stages were written rolls all
    of it back — the recreated framework too."""
    QualificationFramework.objects.filter(name="MEDDICC").delete()
    before = counts()
    real = services.milestone_create
    calls = []

    def failing(**kwargs):
        calls.append(kwargs["title"])
        if len(calls) == 6:
            raise ValidationFailed(details={"title": ["Refused for the test."]})
        return real(**kwargs)

    # Patched where pipeline_create_from_template looks it up.
    monkeypatch.setattr(template_services, "milestone_create", failing)
    with pytest.raises(ValidationFailed):
        services.pipeline_create_from_template(
            actor=admin_user, template="new_business", name="Half"
        )
    assert len(calls) == 6
    assert counts() == before
    assert not QualificationFramework.objects.filter(name="MEDDICC").exists()


# --- placing and moving stages ---------------------------------------------------------


def test_a_new_open_stage_goes_before_the_closed_ones(admin_user, pipeline):
    stage = services.stage_create(
        actor=admin_user, pipeline=pipeline, name="Negotiate", probability=80
    )

    assert stage.order == 4
    assert orders(pipeline) == [
        ("Discover", 1),
        ("Qualify", 2),
        ("Proposal", 3),
        ("Negotiate", 4),
        ("Closed won", 5),
        ("Closed lost", 6),
    ]
    closed = services.stage_create(
        actor=admin_user, pipeline=pipeline, name="Disqualified", probability=0, is_lost=True
    )
    assert closed.order == 7
    assert orders(pipeline)[-1] == ("Disqualified", 7)


def test_a_new_stage_of_an_empty_pipeline(admin_user):
    empty = services.pipeline_create(actor=admin_user, name="Partners")
    first = services.stage_create(actor=admin_user, pipeline=empty, name="Intro", probability=5)
    assert first.order == 1


def test_a_refused_new_stage_leaves_the_order_alone(admin_user, pipeline):
    before = orders(pipeline)
    with pytest.raises(ValidationFailed) as exc:
        services.stage_create(actor=admin_user, pipeline=pipeline, name="Qualify", probability=5)
    assert "name" in exc.value.details
    with pytest.raises(ValidationFailed):
        services.stage_create(actor=admin_user, pipeline=pipeline, name="New", probability=101)
    assert orders(pipeline) == before


@pytest.mark.parametrize(
    ("name", "position", "expected"),
    [
        ("Proposal", 2, ["Discover", "Proposal", "Qualify", "Closed won", "Closed lost"]),
        ("Discover", 2, ["Qualify", "Discover", "Proposal", "Closed won", "Closed lost"]),
        ("Closed lost", 1, ["Closed lost", "Discover", "Qualify", "Proposal", "Closed won"]),
        ("Discover", 5, ["Qualify", "Proposal", "Closed won", "Closed lost", "Discover"]),
        ("Qualify", 2, ["Discover", "Qualify", "Proposal", "Closed won", "Closed lost"]),
    ],
)
def test_stage_move(admin_user, pipeline, name, position, expected):
    stage = pipeline.stages.get(name=name)
    moved = services.stage_move(stage_id=stage.pk, actor=admin_user, position=position)

    assert moved.pk == stage.pk
    assert orders(pipeline) == [(n, i) for i, n in enumerate(expected, start=1)]
    events = AuditEvent.objects.filter(action="stage.moved", target_id=stage.pk)
    assert events.count() == (0 if name == "Qualify" else 1)


def test_stage_move_with_gaps_and_high_orders(admin_user, pipeline):
    """Orders need not be 1…n before a move (the API may set any free order): afterwards
    they are."""
    Stage.objects.filter(pk=pipeline.qualify.pk).update(order=32767)
    Stage.objects.filter(pk=pipeline.discover.pk).update(order=6)
    spare = StageFactory(pipeline=pipeline, name="Spare", order=2)

    services.stage_move(stage_id=spare.pk, actor=admin_user, position=5)

    assert orders(pipeline) == [
        ("Proposal", 1),
        ("Closed won", 2),
        ("Closed lost", 3),
        ("Discover", 4),
        ("Spare", 5),
        ("Qualify", 6),
    ]


def test_stage_move_keeps_deals_in_their_stage(admin_user, pipeline, rep):
    deal = OpportunityFactory(owner=rep, stage=pipeline.qualify)
    services.stage_move(stage_id=pipeline.qualify.pk, actor=admin_user, position=1)
    deal.refresh_from_db()
    assert deal.stage_id == pipeline.qualify.pk
    assert orders(pipeline)[0] == ("Qualify", 1)


@pytest.mark.parametrize("position", [0, 6, -1, "x", "", None, 10**20])
def test_stage_move_refuses_a_bad_position(admin_user, pipeline, position):
    before = orders(pipeline)
    with pytest.raises(ValidationFailed) as exc:
        services.stage_move(stage_id=pipeline.discover.pk, actor=admin_user, position=position)
    assert set(exc.value.details) == {"position"}
    assert orders(pipeline) == before
    assert not AuditEvent.objects.filter(action="stage.moved").exists()


def test_stage_move_refused_to_a_manager_and_for_no_stage(admin_user, manager, pipeline):
    before = orders(pipeline)
    with pytest.raises(PermissionDenied):
        services.stage_move(stage_id=pipeline.proposal.pk, actor=manager, position=1)
    with pytest.raises(NotFound):
        services.stage_move(stage_id=10**9, actor=admin_user, position=1)
    assert orders(pipeline) == before


# --- the stage's own limits and the milestones' order ---------------------------------


def test_stage_validity_and_no_activity_days(admin_user, pipeline):
    stage = services.stage_update(
        stage_id=pipeline.qualify.pk,
        actor=admin_user,
        qualification_validity_days=45,
        no_activity_days="10",
    )
    stage.refresh_from_db()
    assert (stage.qualification_validity_days, stage.no_activity_days) == (45, 10)

    services.stage_update(stage_id=stage.pk, actor=admin_user, no_activity_days="")
    stage.refresh_from_db()
    assert stage.no_activity_days is None  # the organisation's default again

    for bad in ({"qualification_validity_days": 0}, {"no_activity_days": 40000}):
        with pytest.raises(ValidationFailed) as exc:
            services.stage_update(stage_id=stage.pk, actor=admin_user, **bad)
        assert set(exc.value.details) == set(bad)
    stage.refresh_from_db()
    assert (stage.qualification_validity_days, stage.no_activity_days) == (45, None)


def test_a_new_milestone_goes_last(admin_user, pipeline):
    first = services.milestone_create(
        actor=admin_user, stage=pipeline.discover, title="Org chart drawn", kind="seller_action"
    )
    assert first.order == 3  # after the two of the conftest pipeline (orders 1 and 2)
    empty = StageFactory(pipeline=pipeline, name="Spare", order=9)
    only = services.milestone_create(
        actor=admin_user, stage=empty, title="Something", kind="buyer_commitment"
    )
    assert only.order == 1
    placed = services.milestone_create(
        actor=admin_user, stage=empty, title="First", kind="seller_action", order=0
    )
    assert placed.order == 0
    assert [m.title for m in Milestone.objects.filter(stage=empty)] == ["First", "Something"]
    MilestoneFactory(stage=empty, title="Max", order=32767)
    assert (
        services.milestone_create(
            actor=admin_user, stage=empty, title="After max", kind="seller_action"
        ).order
        == 32767
    )
