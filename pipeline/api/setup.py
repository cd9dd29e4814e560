"""The sales process's setup: pipelines (also from a template), their stages and the
stages' milestones (/api/v1/pipelines/, /api/v1/stages/, /api/v1/milestones/). Everyone
reads; administrators and sales leaders write."""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from pipeline import selectors, services
from pipeline.api.common import SET_AT_CREATION, FrameworkViewSet, list_errors_by_element
from pipeline.blueprints import BLUEPRINTS
from pipeline.models import (
    AutoCheck,
    ForecastCategory,
    Milestone,
    MilestoneCompleter,
    MilestoneElementLevel,
    MilestoneKind,
    Pipeline,
    QualificationFramework,
    Stage,
)
from salesops.api.schema import IDEMPOTENCY_KEY, errors
from salesops.api.serializers import StrictInputSerializer
from salesops.api.viewsets import MAX_ID, IdFilter, get_or_404, valid
from salesops.cleaning import MAX_SMALL_INT


class StageOutput(serializers.ModelSerializer):
    pipeline = serializers.IntegerField(source="pipeline_id")

    class Meta:
        model = Stage
        fields = [
            "id", "pipeline", "name", "order", "probability", "forecast_category", "guidance",
            "expected_days", "warn_days", "rot_days", "is_won", "is_lost",
            "qualification_validity_days", "no_activity_days",
        ]  # fmt: skip
        read_only_fields = fields


class PipelineStageOutput(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = ["id", "name", "order", "probability", "forecast_category", "is_won", "is_lost"]
        read_only_fields = fields


class PipelineOutput(serializers.ModelSerializer):
    stages = PipelineStageOutput(many=True, read_only=True)
    framework = serializers.IntegerField(
        source="framework_id", allow_null=True, help_text="Its qualification framework."
    )

    class Meta:
        model = Pipeline
        fields = ["id", "name", "description", "is_active", "framework", "stages"]
        read_only_fields = fields


class ElementLevelOutput(serializers.ModelSerializer):
    element = serializers.IntegerField(source="element_id")

    class Meta:
        model = MilestoneElementLevel
        fields = ["element", "min_level"]
        read_only_fields = fields


class MilestoneOutput(serializers.ModelSerializer):
    stage = serializers.IntegerField(source="stage_id")
    element_levels = ElementLevelOutput(
        many=True, read_only=True, help_text="For auto_check `qualification`."
    )

    class Meta:
        model = Milestone
        fields = [
            "id", "stage", "title", "description", "kind", "required", "requires_evidence",
            "auto_check", "completable_by", "min_qualification_score", "element_levels",
            "order",
        ]  # fmt: skip
        read_only_fields = fields


# --- input serializers (types only; the services validate values) ------------------


class PipelineInput(StrictInputSerializer):
    read_only_hints = {"id": "It is assigned by the server.", "stages": "Use /api/v1/stages/."}
    name = serializers.CharField(allow_blank=True)  # PATCH validates with partial=True
    description = serializers.CharField(required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    framework = serializers.PrimaryKeyRelatedField(
        queryset=QualificationFramework.objects.all(), required=False, allow_null=True,
        help_text="Id of an active qualification framework (null: none). Refused while "
        "automatic qualification milestones of the pipeline depend on the current one.",
    )  # fmt: skip


class StageUpdateInput(StrictInputSerializer):
    # Integer bounds are the columns' (and a percentage's): the schema states them.
    read_only_hints = {"id": "It is assigned by the server.", "pipeline": SET_AT_CREATION}
    name = serializers.CharField(required=False, allow_blank=True)
    order = serializers.IntegerField(required=False, min_value=0, max_value=MAX_SMALL_INT)
    probability = serializers.IntegerField(required=False, min_value=0, max_value=100)
    forecast_category = serializers.ChoiceField(choices=ForecastCategory.choices, required=False)
    guidance = serializers.CharField(required=False, allow_blank=True)
    expected_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=services.MAX_INT
    )
    warn_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=services.MAX_INT
    )
    rot_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=services.MAX_INT
    )
    is_won = serializers.BooleanField(required=False)
    is_lost = serializers.BooleanField(required=False)
    qualification_validity_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_SMALL_INT,
        help_text="How long a qualification stays valid in this stage; null: the default.",
    )  # fmt: skip
    no_activity_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_SMALL_INT,
        help_text="Days without customer activity before a deal here is flagged; null: the "
        "default.",
    )  # fmt: skip


class StageMoveInput(StrictInputSerializer):
    position = serializers.IntegerField(
        min_value=1, max_value=MAX_SMALL_INT, help_text="1 = first; at most the number of stages."
    )


class PipelineTemplateInput(StrictInputSerializer):
    template = serializers.ChoiceField(
        choices=list(BLUEPRINTS), help_text="`new_business` or `blank`."
    )
    name = serializers.CharField(allow_blank=True)


class StageCreateInput(StageUpdateInput):
    read_only_hints = {"id": "It is assigned by the server."}
    pipeline = serializers.PrimaryKeyRelatedField(queryset=Pipeline.objects.all())
    name = serializers.CharField(allow_blank=True)
    probability = serializers.IntegerField(min_value=0, max_value=100)


class ElementLevelInput(StrictInputSerializer):
    element = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    min_level = serializers.IntegerField(min_value=1, max_value=3)


class MilestoneUpdateInput(StrictInputSerializer):
    read_only_hints = {"id": "It is assigned by the server.", "stage": SET_AT_CREATION}
    title = serializers.CharField(required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=MilestoneKind.choices, required=False)
    required = serializers.BooleanField(required=False)
    requires_evidence = serializers.BooleanField(required=False)
    auto_check = serializers.ChoiceField(
        choices=AutoCheck.choices, required=False, allow_blank=True
    )
    completable_by = serializers.ChoiceField(
        choices=MilestoneCompleter.choices, required=False,
        help_text="Who may tick it (default `owner`: the owner or their manager). `manager`: "
        "only the owner's manager — for a milestone that states their act. Not with "
        "`auto_check` (an automatic milestone is ticked by nobody).",
    )  # fmt: skip
    order = serializers.IntegerField(required=False, min_value=0, max_value=MAX_SMALL_INT)
    min_qualification_score = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=100,
        help_text="With auto_check `qualification`: the minimum weighted score, in %.",
    )  # fmt: skip
    element_levels = serializers.ListField(
        child=ElementLevelInput(), required=False, max_length=100,
        help_text="With auto_check `qualification`: minimum levels of elements of the "
        "pipeline's framework; replaces the current list. Errors in `details.element_levels` "
        "are keyed by element id (`#<index>` when the id is missing or not a number).",
    )  # fmt: skip

    def to_internal_value(self, data: Any) -> Any:
        with list_errors_by_element(data, "element_levels"):
            return super().to_internal_value(data)


class MilestoneCreateInput(MilestoneUpdateInput):
    read_only_hints = {"id": "It is assigned by the server."}
    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.all())
    title = serializers.CharField(allow_blank=True)
    kind = serializers.ChoiceField(choices=MilestoneKind.choices)


# --- filters -----------------------------------------------------------------------


class StageFilter(django_filters.FilterSet):
    pipeline = IdFilter(field_name="pipeline_id")

    class Meta:
        model = Stage
        fields: list[str] = []


class MilestoneFilter(django_filters.FilterSet):
    stage = IdFilter(field_name="stage_id")
    pipeline = IdFilter(field_name="stage__pipeline_id")

    class Meta:
        model = Milestone
        fields: list[str] = []


# --- pipeline framework: everyone reads, administrators and sales leaders write -------


@extend_schema(tags=["pipelines"])
class PipelineViewSet(FrameworkViewSet):
    queryset = Pipeline.objects.none()  # the model for the schema; reads use selectors
    input_serializers = {
        "create": PipelineInput,
        "partial_update": PipelineInput,
        "from_template": PipelineTemplateInput,
    }
    filter_backends: list[Any] = []

    @extend_schema(responses={200: PipelineOutput(many=True), **errors(404)})
    def list(self, request: Request) -> Response:
        return self.paginated(selectors.pipeline_list(), PipelineOutput)

    @extend_schema(responses={200: PipelineOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        pipeline = get_or_404(selectors.pipeline_list(), pk)
        return Response(PipelineOutput(pipeline, context=self.ctx()).data)

    @extend_schema(
        request=PipelineInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: PipelineOutput, **errors(400, 403, 422)},
    )
    def create(self, request: Request) -> Response:
        data = valid(PipelineInput, request)
        pipeline = services.pipeline_create(actor=request.user, name=data.pop("name", ""), **data)
        pipeline = get_or_404(selectors.pipeline_list(), pipeline.pk)
        return Response(PipelineOutput(pipeline, context=self.ctx()).data, status=201)

    @extend_schema(request=PipelineInput, responses={200: PipelineOutput, **errors(400, 403, 404)})
    def partial_update(self, request: Request, pk: str) -> Response:
        pipeline = get_or_404(selectors.pipeline_list(), pk)
        data = valid(PipelineInput, request, partial=True)
        services.pipeline_update(pipeline_id=pipeline.pk, actor=request.user, **data)
        pipeline = get_or_404(selectors.pipeline_list(), pk)
        return Response(PipelineOutput(pipeline, context=self.ctx()).data)

    @extend_schema(
        operation_id="pipelines_from_template",
        request=PipelineTemplateInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: PipelineOutput, **errors(400, 403, 422)},
        description="Administrators and sales leaders only. A new pipeline from a template — "
        "`new_business` (stages with guidance, exit milestones and MEDDICC minimums) or "
        '`blank` — the same as the setup page\'s "New pipeline from template"; its stages '
        "and milestones are then edited at /api/v1/stages/ and /api/v1/milestones/.",
    )
    @action(detail=False, methods=["post"], url_path="from-template")
    def from_template(self, request: Request) -> Response:
        data = valid(PipelineTemplateInput, request)
        pipeline = services.pipeline_create_from_template(
            actor=request.user, template=data["template"], name=data.get("name", "")
        )
        pipeline = get_or_404(selectors.pipeline_list(), pipeline.pk)
        return Response(PipelineOutput(pipeline, context=self.ctx()).data, status=201)


@extend_schema(tags=["pipelines"])
class StageViewSet(FrameworkViewSet):
    queryset = Stage.objects.none()  # the model for the schema; reads use selectors
    input_serializers = {
        "create": StageCreateInput,
        "partial_update": StageUpdateInput,
        "move": StageMoveInput,
    }
    filterset_class = StageFilter

    @extend_schema(responses={200: StageOutput(many=True), **errors(404)})
    def list(self, request: Request) -> Response:
        return self.paginated(self.filter_queryset(selectors.stage_list()), StageOutput)

    @extend_schema(responses={200: StageOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(StageOutput(get_or_404(selectors.stage_list(), pk)).data)

    @extend_schema(
        request=StageCreateInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: StageOutput, **errors(400, 403, 422)},
    )
    def create(self, request: Request) -> Response:
        data = valid(StageCreateInput, request)
        stage = services.stage_create(
            actor=request.user, pipeline=data.pop("pipeline"), name=data.pop("name", ""),
            order=data.pop("order", None), probability=data.pop("probability", None), **data,
        )  # fmt: skip
        return Response(StageOutput(stage).data, status=201)

    @extend_schema(request=StageUpdateInput, responses={200: StageOutput, **errors(400, 403, 404)})
    def partial_update(self, request: Request, pk: str) -> Response:
        stage = get_or_404(selectors.stage_list(), pk)
        data = valid(StageUpdateInput, request)
        stage = services.stage_update(stage_id=stage.pk, actor=request.user, **data)
        return Response(StageOutput(stage).data)

    @extend_schema(
        responses={204: None, **errors(403, 404, 409)},
        description="Refused (409 `stage_in_use`) while opportunities are in the stage.",
    )
    def destroy(self, request: Request, pk: str) -> Response:
        stage = get_or_404(selectors.stage_list(), pk)
        services.stage_delete(stage_id=stage.pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="stages_move",
        request=StageMoveInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: StageOutput, **errors(400, 403, 404, 422)},
        description="Administrators and sales leaders only. Move the stage to `position` "
        "(1 = first) among its pipeline's stages, as the setup page's up/down buttons do; the "
        "stages are numbered 1…n again (their `order`).",
    )
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str) -> Response:
        stage = get_or_404(selectors.stage_list(), pk)
        data = valid(StageMoveInput, request)
        stage = services.stage_move(
            stage_id=stage.pk, actor=request.user, position=data["position"]
        )
        return Response(StageOutput(get_or_404(selectors.stage_list(), stage.pk)).data)


@extend_schema(tags=["pipelines"])
class MilestoneViewSet(FrameworkViewSet):
    queryset = Milestone.objects.none()  # the model for the schema; reads use selectors
    input_serializers = {
        "create": MilestoneCreateInput,
        "partial_update": MilestoneUpdateInput,
    }
    filterset_class = MilestoneFilter

    @extend_schema(responses={200: MilestoneOutput(many=True), **errors(404)})
    def list(self, request: Request) -> Response:
        return self.paginated(self.filter_queryset(selectors.milestone_list()), MilestoneOutput)

    @extend_schema(responses={200: MilestoneOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(MilestoneOutput(get_or_404(selectors.milestone_list(), pk)).data)

    @extend_schema(
        request=MilestoneCreateInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: MilestoneOutput, **errors(400, 403, 422)},
    )
    def create(self, request: Request) -> Response:
        data = valid(MilestoneCreateInput, request)
        milestone = services.milestone_create(
            actor=request.user, stage=data.pop("stage"), title=data.pop("title", ""),
            kind=data.pop("kind", ""), **data,
        )  # fmt: skip
        return Response(MilestoneOutput(milestone).data, status=201)

    @extend_schema(
        request=MilestoneUpdateInput, responses={200: MilestoneOutput, **errors(400, 403, 404)}
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        milestone = get_or_404(selectors.milestone_list(), pk)
        data = valid(MilestoneUpdateInput, request)
        milestone = services.milestone_update(milestone_id=milestone.pk, actor=request.user, **data)
        return Response(MilestoneOutput(milestone).data)

    @extend_schema(responses={204: None, **errors(403, 404)})
    def destroy(self, request: Request, pk: str) -> Response:
        milestone = get_or_404(selectors.milestone_list(), pk)
        services.milestone_delete(milestone_id=milestone.pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
