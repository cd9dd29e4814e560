"""/api/v1/skills/ and /api/v1/skill-assessments/: serializers and views.

The skills framework is read by everyone and written by administrators (like the
qualification frameworks); assessments are read within the user's scope and written by a
manager of the rep or a leader."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from coaching import selectors, services
from coaching.api.common import ID, MAX_ID, text_field
from coaching.models import Skill, SkillAssessment
from pipeline.api import FrameworkViewSet
from salesops import access
from salesops.api.schema import IDEMPOTENCY_KEY, errors
from salesops.api.serializers import StrictInputSerializer
from salesops.api.viewsets import ApiViewSet, IdFilter, int_or_404, valid

# --- output -------------------------------------------------------------------------


class SkillLevelOutput(serializers.Serializer):
    level = serializers.IntegerField()
    descriptor = serializers.CharField()


class SkillOutput(serializers.ModelSerializer):
    levels = serializers.SerializerMethodField(help_text="Levels 1–5 with their descriptor.")

    class Meta:
        model = Skill
        fields = [
            "id", "name", "order", "description", "is_active", "levels",
            "level_1", "level_2", "level_3", "level_4", "level_5",
            "questions", "good_looks_like", "common_mistakes", "updated_at",
        ]  # fmt: skip

    @extend_schema_field(SkillLevelOutput(many=True))
    def get_levels(self, skill: Skill) -> list[dict[str, Any]]:
        return [{"level": n, "descriptor": text} for n, text in skill.levels]


class AssessmentOutput(serializers.ModelSerializer):
    rep = serializers.IntegerField(source="rep_id")
    rep_name = serializers.CharField(source="rep.__str__")
    skill = serializers.IntegerField(source="skill_id")
    skill_name = serializers.CharField(source="skill.name")
    assessor = serializers.IntegerField(source="assessor_id")
    assessor_name = serializers.CharField(source="assessor.__str__")

    class Meta:
        model = SkillAssessment
        fields = [
            "id", "rep", "rep_name", "skill", "skill_name", "level", "assessor",
            "assessor_name", "assessed_on", "evidence", "created_at",
        ]  # fmt: skip


# --- input --------------------------------------------------------------------------


class SkillWriteFields(StrictInputSerializer):
    read_only_hints = {
        "id": "It is assigned by the server.",
        "levels": "Send level_1 … level_5.",
        "updated_at": "It is set by the server.",
    }
    # Required to create (skill_create refuses without); PATCH validates with partial=True.
    name = text_field(required=True)
    order = serializers.IntegerField(required=False, min_value=0, max_value=32_767)
    description = text_field()
    is_active = serializers.BooleanField(required=False)
    level_1 = text_field(required=True)
    level_2 = text_field(required=True)
    level_3 = text_field(required=True)
    level_4 = text_field(required=True)
    level_5 = text_field(required=True)
    questions = text_field()
    good_looks_like = text_field()
    common_mistakes = text_field()


class AssessmentInput(StrictInputSerializer):
    read_only_hints = {
        "id": "It is assigned by the server.",
        "assessor": "You are the assessor.",
        "created_at": "It is set by the server.",
    }
    rep = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    skill = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    level = serializers.IntegerField(min_value=1, max_value=5, help_text="1–5.")
    assessed_on = serializers.DateField(
        required=False, allow_null=True, help_text="Default: today. Never in the future."
    )
    evidence = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="What was seen. Required for level 4 and 5.",
    )


# --- filters ------------------------------------------------------------------------


class AssessmentFilter(django_filters.FilterSet):
    rep = IdFilter(field_name="rep_id")
    skill = IdFilter(field_name="skill_id")
    team = IdFilter(method="filter_team", help_text="The rep's team, sub-teams included.")

    class Meta:
        model = SkillAssessment
        fields: list[str] = []

    def filter_team(self, queryset: QuerySet, name: str, value: int) -> QuerySet:
        return queryset.filter(rep__team_id__in=access.team_subtree(value))


# --- views --------------------------------------------------------------------------


@extend_schema(tags=["coaching"])
class SkillViewSet(FrameworkViewSet):
    """The skills framework: everyone reads it, administrators change it."""

    queryset = Skill.objects.none()  # for the schema; reads use selectors
    input_serializers = {"create": SkillWriteFields, "partial_update": SkillWriteFields}
    filter_backends: list[Any] = []

    @extend_schema(responses={200: SkillOutput(many=True), **errors(404)})
    def list(self, request: Request) -> Response:
        return self.paginated(selectors.skill_list(), SkillOutput)

    @extend_schema(parameters=[ID], responses={200: SkillOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(SkillOutput(selectors.skill_get(int_or_404(pk))).data)

    @extend_schema(
        request=SkillWriteFields,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: SkillOutput, **errors(400, 403)},
        description="Administrators only. `name` and level_1 … level_5 are required; "
        "without `order` the skill goes last.",
    )
    def create(self, request: Request) -> Response:
        data = valid(SkillWriteFields, request)
        skill = services.skill_create(actor=request.user, name=data.pop("name", ""), **data)
        return Response(SkillOutput(selectors.skill_get(skill.pk)).data, status=201)

    @extend_schema(
        parameters=[ID],
        request=SkillWriteFields,
        responses={200: SkillOutput, **errors(400, 403, 404)},
        description="Administrators only. Deactivating keeps the skill's assessments.",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        skill = selectors.skill_get(int_or_404(pk))
        data = valid(SkillWriteFields, request, partial=True)
        services.skill_update(actor=request.user, skill_id=skill.pk, **data)
        return Response(SkillOutput(selectors.skill_get(skill.pk)).data)


@extend_schema(tags=["coaching"])
class SkillAssessmentViewSet(ApiViewSet):
    """Skill assessments of the people the user may see: a rep their own, a manager
    their teams' (sub-teams included), a leader everyone's. Newest first."""

    queryset = SkillAssessment.objects.none()
    filterset_class = AssessmentFilter
    input_serializers = {"create": AssessmentInput}

    def get_queryset(self) -> QuerySet[SkillAssessment]:
        return selectors.assessments_for(self.request.user)

    @extend_schema(responses={200: AssessmentOutput(many=True), **errors(400, 404)})
    def list(self, request: Request) -> Response:
        return self.paginated(self.filter_queryset(self.get_queryset()), AssessmentOutput)

    @extend_schema(parameters=[ID], responses={200: AssessmentOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        assessment = selectors.assessment_get_for(request.user, int_or_404(pk))
        return Response(AssessmentOutput(assessment).data)

    @extend_schema(
        request=AssessmentInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: AssessmentOutput, **errors(400, 403, 404)},
        description="Assess a rep's skill: a manager of the rep (never themselves) or a "
        "leader. A rep gets 403; a rep outside the manager's teams 404; a skill not "
        "active in the framework, a level outside 1–5, a future date or level 4–5 "
        "without evidence 400.",
    )
    def create(self, request: Request) -> Response:
        data = valid(AssessmentInput, request)
        assessment = services.skill_assessment_create(
            actor=request.user,
            rep_id=data["rep"],
            skill_id=data["skill"],
            level=data["level"],
            assessed_on=data.get("assessed_on"),
            evidence=data.get("evidence", ""),
        )
        fresh = selectors.assessment_get_for(request.user, assessment.pk)
        return Response(AssessmentOutput(fresh).data, status=201)
