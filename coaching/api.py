"""/api/v1/skills/ and /api/v1/skill-assessments/: serializers and views. Thin:
validate, call one service or selector, serialize.

The skills framework is read by everyone and written by administrators (like the
qualification frameworks); assessments are read within the user's scope and written by a
manager of the rep or a leader."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from coaching import selectors, services
from coaching.models import (
    ActionItem,
    CoachingFlag,
    CoachingPoint,
    CoachingSession,
    OpportunityReview,
    ReviewAgendaItem,
    ReviewFinding,
    ReviewStatus,
    Skill,
    SkillAssessment,
    flag_kind_choices,
)
from pipeline.api import FrameworkViewSet
from salesops import access, organisation
from salesops.api.etag import expected_version, with_etag
from salesops.api.schema import IDEMPOTENCY_KEY, IF_MATCH, errors, one_object
from salesops.api.serializers import StrictInputSerializer
from salesops.api.viewsets import ApiViewSet, IdFilter, int_or_404, valid

ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)
MAX_ID = 2**63 - 1

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


def _text(*, required: bool = False) -> serializers.CharField:
    return serializers.CharField(required=required, allow_blank=True, trim_whitespace=False)


class SkillWriteFields(StrictInputSerializer):
    read_only_hints = {
        "id": "It is assigned by the server.",
        "levels": "Send level_1 … level_5.",
        "updated_at": "It is set by the server.",
    }
    # Required to create (skill_create refuses without); PATCH validates with partial=True.
    name = _text(required=True)
    order = serializers.IntegerField(required=False, min_value=0, max_value=32_767)
    description = _text()
    is_active = serializers.BooleanField(required=False)
    level_1 = _text(required=True)
    level_2 = _text(required=True)
    level_3 = _text(required=True)
    level_4 = _text(required=True)
    level_5 = _text(required=True)
    questions = _text()
    good_looks_like = _text()
    common_mistakes = _text()


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


# --- coaching coverage -----------------------------------------------------------------
# GET /api/v1/coaching/coverage/ (managers and leaders) and GET /api/v1/coaching-flags/
# (everyone: their own open flags; a manager also their teams' people's, a leader all).


class CoverageQuery(serializers.Serializer):
    team = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="A team you may see: its managers and reps, sub-teams included.",
    )
    days = serializers.IntegerField(
        required=False,
        min_value=selectors.COVERAGE_MIN_DAYS,
        max_value=selectors.COVERAGE_MAX_DAYS,
        default=selectors.COVERAGE_DEFAULT_DAYS,
        help_text="The window in days (7–365, default 30).",
    )


class CoverageRowOutput(serializers.Serializer):
    manager = serializers.IntegerField(
        source="manager_id", allow_null=True, help_text="Null on the totals row."
    )
    manager_name = serializers.CharField()
    reps = serializers.IntegerField()
    coached = serializers.IntegerField(help_text="Reps whose 1:1 is not overdue today.")
    coached_share = serializers.FloatField(allow_null=True, help_text="0–1; null: no reps.")
    one_on_ones = serializers.IntegerField(help_text="1:1s held in the window.")
    reviews = serializers.IntegerField(help_text="Opportunity reviews completed in the window.")
    items_due = serializers.IntegerField(
        help_text="Action items of the manager's reviews and 1:1s due in the window."
    )
    items_on_time = serializers.IntegerField(help_text="… done on or before their due date.")
    on_time_share = serializers.FloatField(allow_null=True, help_text="0–1; null: none due.")

    def to_representation(self, row: Any) -> dict[str, Any]:
        data = super().to_representation(row)
        for name in ("coached_share", "on_time_share"):
            if data[name] is not None:
                data[name] = round(data[name], 4)
        return data


@one_object
class CoverageOutput(serializers.Serializer):
    days = serializers.IntegerField()
    team = serializers.SerializerMethodField()
    since = serializers.DateField(help_text="1:1s and reviews count from this day to today.")
    items_from = serializers.DateField(
        help_text="Action items due from this day to yesterday count."
    )
    today = serializers.DateField()
    rows = CoverageRowOutput(many=True)
    totals = CoverageRowOutput()

    # null when no `team` was asked for: the coverage of everyone in scope, not of one team.
    @extend_schema_field({"type": "integer", "nullable": True})
    def get_team(self, coverage: selectors.Coverage) -> int | None:
        return coverage.team.pk if coverage.team else None


class CoachingFlagOutput(serializers.ModelSerializer):
    recipient = serializers.IntegerField(source="recipient_id")
    recipient_name = serializers.CharField(source="recipient.__str__")
    rep = serializers.IntegerField(source="rep_id", allow_null=True)
    rep_name = serializers.SerializerMethodField()
    action_item = serializers.IntegerField(source="action_item_id", allow_null=True)
    action_item_title = serializers.SerializerMethodField()

    class Meta:
        model = CoachingFlag
        fields = [
            "id", "kind", "recipient", "recipient_name", "rep", "rep_name", "action_item",
            "action_item_title", "explanation", "link", "raised_at",
        ]  # fmt: skip

    @extend_schema_field({"type": "string", "nullable": True})
    def get_rep_name(self, flag: CoachingFlag) -> str | None:
        return str(flag.rep) if flag.rep_id else None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_action_item_title(self, flag: CoachingFlag) -> str | None:
        return flag.action_item.title if flag.action_item_id else None


class CoachingFlagFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=flag_kind_choices)

    class Meta:
        model = CoachingFlag
        fields: list[str] = []


@extend_schema(tags=["coaching"])
class CoachingCoverageViewSet(ApiViewSet):
    """Coaching coverage per manager: managers and leaders."""

    queryset = CoachingFlag.objects.none()  # for the schema; reads use selectors
    filter_backends: list[Any] = []
    pagination_class = None

    @extend_schema(
        parameters=[CoverageQuery],
        responses={200: CoverageOutput, **errors(400, 403, 404)},
        description="One row per manager in your scope (a leader: every manager, of "
        "`team`'s subtree when given; a manager: themselves and their sub-teams' "
        "managers) and the totals: reps, reps coached within cadence today, 1:1s held and "
        "reviews completed in the last `days` days, and action items of their reviews "
        "and 1:1s due in the `days` days before today and done on time. A rep gets 403; "
        "a team outside your scope 404; `days` outside 7–365 400.",
    )
    def list(self, request: Request) -> Response:
        query = CoverageQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        coverage = selectors.coverage_for(
            request.user, query.validated_data.get("team"), query.validated_data["days"]
        )
        return Response(CoverageOutput(coverage).data)


@extend_schema(tags=["coaching"])
class CoachingFlagViewSet(ApiViewSet):
    """Open coaching flags (overdue 1:1s and action items) you may see: your own; a
    manager's also those of their teams' people; a leader's all. Newest first."""

    queryset = CoachingFlag.objects.none()
    filterset_class = CoachingFlagFilter

    def get_queryset(self) -> QuerySet[CoachingFlag]:
        return selectors.coaching_flags_for(self.request.user)

    @extend_schema(responses={200: CoachingFlagOutput(many=True), **errors(400, 404)})
    def list(self, request: Request) -> Response:
        return self.paginated(self.filter_queryset(self.get_queryset()), CoachingFlagOutput)


# --- 1:1 sessions ---
# /api/v1/coaching-sessions/: read in scope (a rep their own, a manager their teams', a
# leader all), recorded by a manager of the rep or a leader. Each response with one 1:1
# carries its ETag (its last change); PATCH with a stale If-Match is refused (412).


class SessionSkillOutput(serializers.ModelSerializer):
    """A focus skill with its coaching guide (one point per line) and level descriptors."""

    levels = serializers.SerializerMethodField()

    class Meta:
        model = Skill
        fields = ["id", "name", "questions", "good_looks_like", "common_mistakes", "levels"]

    @extend_schema_field(SkillLevelOutput(many=True))
    def get_levels(self, skill: Skill) -> list[dict[str, Any]]:
        return [{"level": n, "descriptor": text} for n, text in skill.levels]


class SessionActionItemOutput(serializers.ModelSerializer):
    owner = serializers.IntegerField(source="owner_id")
    owner_name = serializers.CharField(source="owner.__str__")
    session = serializers.IntegerField(source="session_id")
    done = serializers.BooleanField(source="is_done")

    class Meta:
        model = ActionItem
        fields = [
            "id", "session", "title", "owner", "owner_name", "due_on", "done", "done_at",
            "created_at",
        ]  # fmt: skip


class PreviousSessionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    held_on = serializers.DateField()
    manager = serializers.IntegerField(source="manager_id")
    practice_assignment = serializers.CharField()


class SessionListOutput(serializers.ModelSerializer):
    rep = serializers.IntegerField(source="rep_id")
    rep_name = serializers.CharField(source="rep.__str__")
    manager = serializers.IntegerField(source="manager_id")
    manager_name = serializers.CharField(source="manager.__str__")
    focus_skill = serializers.IntegerField(source="focus_skill_id")
    focus_skill_name = serializers.CharField(source="focus_skill.name")
    second_focus_skill = serializers.IntegerField(source="second_focus_skill_id", allow_null=True)
    second_focus_skill_name = serializers.CharField(
        source="second_focus_skill.name", allow_null=True, default=None
    )
    open_action_items = serializers.IntegerField(
        source="open_items", help_text="Action items of this 1:1 not done yet."
    )

    class Meta:
        model = CoachingSession
        fields = [
            "id", "rep", "rep_name", "manager", "manager_name", "held_on", "focus_skill",
            "focus_skill_name", "second_focus_skill", "second_focus_skill_name",
            "practice_assignment", "open_action_items", "created_at", "updated_at",
        ]  # fmt: skip


class SessionOutput(SessionListOutput):
    notes = serializers.CharField()
    focus_skills = serializers.SerializerMethodField(
        help_text="The focus skills with their coaching guide and level descriptors."
    )
    action_items = SessionActionItemOutput(many=True, read_only=True)
    previous_session = serializers.SerializerMethodField(
        help_text="The rep's 1:1 before this one (null: this is the first you may see)."
    )
    follow_ups = serializers.SerializerMethodField(
        help_text="The previous 1:1's action items still open: what this one follows up."
    )

    class Meta(SessionListOutput.Meta):
        fields = [*SessionListOutput.Meta.fields, "notes", "focus_skills", "action_items",
                  "previous_session", "follow_ups"]  # fmt: skip

    @extend_schema_field(SessionSkillOutput(many=True))
    def get_focus_skills(self, session: CoachingSession) -> list[dict[str, Any]]:
        return SessionSkillOutput(session.focus_skills, many=True).data

    @extend_schema_field(PreviousSessionOutput(allow_null=True))
    def get_previous_session(self, session: CoachingSession) -> dict[str, Any] | None:
        previous = self.context.get("previous")
        return PreviousSessionOutput(previous).data if previous is not None else None

    @extend_schema_field(SessionActionItemOutput(many=True))
    def get_follow_ups(self, session: CoachingSession) -> list[dict[str, Any]]:
        return SessionActionItemOutput(self.context.get("follow_ups", []), many=True).data


class SessionItemInput(StrictInputSerializer):
    title = serializers.CharField(allow_blank=True, trim_whitespace=False)
    due_on = serializers.DateField(help_text="Today or later, within a year.")
    owner = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="The rep (default) or the manager of the 1:1.",
    )


class SessionCreateInput(StrictInputSerializer):
    read_only_hints = {
        "id": "It is assigned by the server.",
        "manager": "You are the manager of the 1:1s you record.",
        "open_action_items": "It is counted by the server.",
        "focus_skills": "Send focus_skill and second_focus_skill.",
        "previous_session": "It is found by the server.",
        "follow_ups": "They are the previous 1:1's open action items.",
    }
    rep = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    held_on = serializers.DateField(
        required=False, allow_null=True, help_text="Default: today. Not in the future."
    )
    focus_skill = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    second_focus_skill = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_ID
    )
    notes = _text()
    practice_assignment = _text()
    action_items = SessionItemInput(many=True, required=False)


class SessionUpdateInput(StrictInputSerializer):
    read_only_hints = {
        **SessionCreateInput.read_only_hints,
        "rep": "A 1:1's rep does not change; record another 1:1.",
        "held_on": "A 1:1's date does not change; record another 1:1.",
        "action_items": "Add one with POST /api/v1/coaching-sessions/{id}/action-items/.",
    }
    focus_skill = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    second_focus_skill = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_ID,
        help_text="null removes the second focus skill.",
    )  # fmt: skip
    notes = _text()
    practice_assignment = _text()


class SessionFilter(django_filters.FilterSet):
    rep = IdFilter(field_name="rep_id")
    manager = IdFilter(field_name="manager_id")
    team = IdFilter(method="filter_team", help_text="The rep's team, sub-teams included.")
    held_after = django_filters.DateFilter(
        field_name="held_on", lookup_expr="gte", help_text="Held on or after (YYYY-MM-DD)."
    )
    held_before = django_filters.DateFilter(
        field_name="held_on", lookup_expr="lte", help_text="Held on or before (YYYY-MM-DD)."
    )

    class Meta:
        model = CoachingSession
        fields: list[str] = []

    def filter_team(self, queryset: QuerySet, name: str, value: int) -> QuerySet:
        return queryset.filter(rep__team_id__in=access.team_subtree(value))


def _session_response(request: Request, session_id: int, *, status_code: int = 200) -> Response:
    fresh = selectors.session_get_for(request.user, session_id)
    previous, follow_ups = selectors.follow_ups(request.user, fresh.rep, before=fresh)
    data = SessionOutput(
        fresh, context={"request": request, "previous": previous, "follow_ups": follow_ups}
    ).data
    return with_etag(Response(data, status=status_code), services.session_version(fresh))


def _valid_session(request: Request) -> dict[str, Any]:
    """SessionCreateInput's data. DRF reports a bad item as {"action_items": {"1": {...}}};
    the service as a list, one dict per item ({} for a good one). Clients get the list
    either way."""
    try:
        return valid(SessionCreateInput, request)
    except serializers.ValidationError as exc:
        detail = exc.detail if isinstance(exc.detail, dict) else None
        items = detail.get("action_items") if detail else None
        sent = request.data.get("action_items") if isinstance(request.data, dict) else None
        if isinstance(items, dict) and isinstance(sent, list):
            detail["action_items"] = [items.get(i, items.get(str(i), {})) for i in range(len(sent))]
        raise


_SESSION_SERVICE_FIELDS = {"focus_skill": "focus_skill_id",
                           "second_focus_skill": "second_focus_skill_id"}  # fmt: skip


@extend_schema(tags=["coaching"])
class CoachingSessionViewSet(ApiViewSet):
    """1:1 coaching sessions the user may see: a rep their own, a manager their teams'
    (sub-teams included) and those they held, a leader everyone's. Latest first."""

    queryset = CoachingSession.objects.none()
    filterset_class = SessionFilter
    input_serializers = {
        "create": SessionCreateInput,
        "partial_update": SessionUpdateInput,
        "action_items": SessionItemInput,
    }

    def get_queryset(self) -> QuerySet[CoachingSession]:
        return selectors.sessions_for(self.request.user)

    @extend_schema(responses={200: SessionListOutput(many=True), **errors(400, 404)})
    def list(self, request: Request) -> Response:
        return self.paginated(self.filter_queryset(self.get_queryset()), SessionListOutput)

    @extend_schema(parameters=[ID], responses={200: SessionOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        return _session_response(request, int_or_404(pk))

    @extend_schema(
        request=SessionCreateInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: SessionOutput, **errors(400, 403, 404, 409, 422)},
        description="Record a 1:1 you held: a manager of the rep or a leader (a rep gets "
        "403; a rep outside your teams 404). One or two different active focus skills; "
        "held_on not in the future nor over a year back; optional action_items, each "
        "checked with the rest (errors per item in details.action_items, in order) — "
        "nothing is saved when any is refused. The same rep on the same day again: 409.",
    )
    def create(self, request: Request) -> Response:
        data = _valid_session(request)
        session = services.session_create(
            actor=request.user,
            rep_id=data["rep"],
            held_on=data.get("held_on"),
            focus_skill_id=data["focus_skill"],
            second_focus_skill_id=data.get("second_focus_skill"),
            notes=data.get("notes", ""),
            practice_assignment=data.get("practice_assignment", ""),
            action_items=[dict(item) for item in data.get("action_items", [])],
        )
        return _session_response(request, session.pk, status_code=201)

    @extend_schema(
        parameters=[ID, IF_MATCH],
        request=SessionUpdateInput,
        responses={200: SessionOutput, **errors(400, 403, 404, 412)},
        description="Change the notes, practice assignment or focus skills: the manager "
        "who held the 1:1, or a leader (others who see it: 403).",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        session = selectors.session_get_for(request.user, int_or_404(pk))
        data = valid(SessionUpdateInput, request)
        services.session_update(
            actor=request.user,
            session_id=session.pk,
            expected_version=expected_version(request),
            **{_SESSION_SERVICE_FIELDS.get(k, k): v for k, v in data.items()},
        )
        return _session_response(request, session.pk)

    @extend_schema(
        operation_id="coaching_sessions_action_items_create",
        parameters=[ID, IDEMPOTENCY_KEY],
        request=SessionItemInput,
        responses={201: SessionActionItemOutput, **errors(400, 403, 404)},
        description="Add an action item: the manager who held the 1:1, or a leader. The "
        "owner (the rep by default, or the manager) is notified.",
    )
    @action(detail=True, methods=["post"], url_path="action-items")
    def action_items(self, request: Request, pk: str) -> Response:
        session = selectors.session_get_for(request.user, int_or_404(pk))
        data = valid(SessionItemInput, request)
        item = services.session_add_action_item(
            actor=request.user,
            session_id=session.pk,
            title=data["title"],
            due_on=data["due_on"],
            owner_id=data.get("owner"),
        )
        return Response(SessionActionItemOutput(item).data, status=201)


# --- opportunity reviews ---
# /api/v1/opportunity-reviews/ and /api/v1/action-items/. A review holds no forecast
# numbers: its representation has none either.


class ReviewAgendaItemOutput(serializers.ModelSerializer):
    added_by = serializers.IntegerField(source="added_by_id", allow_null=True)

    class Meta:
        model = ReviewAgendaItem
        fields = ["id", "source", "title", "detail", "order", "discussed", "added_by"]


class ReviewFindingOutput(serializers.ModelSerializer):
    created_by = serializers.IntegerField(source="created_by_id")

    class Meta:
        model = ReviewFinding
        fields = ["id", "text", "created_by", "created_at"]


class CoachingPointOutput(serializers.ModelSerializer):
    skill = serializers.IntegerField(source="skill_id")
    skill_name = serializers.CharField(source="skill.name")
    created_by = serializers.IntegerField(source="created_by_id")

    class Meta:
        model = CoachingPoint
        fields = ["id", "skill", "skill_name", "text", "created_by", "created_at"]


class ActionItemOutput(serializers.ModelSerializer):
    review = serializers.IntegerField(source="review_id", allow_null=True)
    session = serializers.IntegerField(source="session_id", allow_null=True)
    owner = serializers.IntegerField(source="owner_id")
    owner_name = serializers.CharField(source="owner.__str__")
    done = serializers.BooleanField(source="is_done")
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = ActionItem
        fields = [
            "id", "review", "session", "title", "owner", "owner_name", "due_on", "done",
            "done_at", "overdue", "created_at",
        ]  # fmt: skip

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_overdue(self, item: ActionItem) -> bool:
        return item.done_at is None and item.due_on < organisation.current().today()


class OpportunityReviewListOutput(serializers.ModelSerializer):
    opportunity = serializers.IntegerField(source="opportunity_id")
    opportunity_name = serializers.CharField(source="opportunity.name")
    rep = serializers.IntegerField(source="rep_id")
    rep_name = serializers.CharField(source="rep.__str__")
    manager = serializers.IntegerField(source="manager_id")
    manager_name = serializers.CharField(source="manager.__str__")
    open_items = serializers.IntegerField(help_text="Action items not done yet.")

    class Meta:
        model = OpportunityReview
        fields = [
            "id", "opportunity", "opportunity_name", "rep", "rep_name", "manager",
            "manager_name", "status", "started_at", "completed_at", "open_items",
        ]  # fmt: skip


class OpportunityReviewOutput(OpportunityReviewListOutput):
    agenda = ReviewAgendaItemOutput(source="agenda_items", many=True, read_only=True)
    findings = ReviewFindingOutput(many=True, read_only=True)
    coaching_points = CoachingPointOutput(many=True, read_only=True)
    action_items = ActionItemOutput(many=True, read_only=True)

    class Meta(OpportunityReviewListOutput.Meta):
        fields = [
            *OpportunityReviewListOutput.Meta.fields, "agenda", "findings", "coaching_points",
            "action_items",
        ]  # fmt: skip


class ReviewCreateInput(StrictInputSerializer):
    read_only_hints = {
        "id": "It is assigned by the server.",
        "rep": "The deal's owner is the rep.",
        "manager": "You hold the review.",
        "status": "Use POST …/{id}/complete/.",
        "agenda": "It is generated from the deal's gaps; add points with POST …/{id}/agenda/.",
    }
    opportunity = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class AgendaItemInput(StrictInputSerializer):
    read_only_hints = {"source": "Points you add are the manager's.", "order": "Added last."}
    title = serializers.CharField(trim_whitespace=False, allow_blank=True, help_text="≤ 300.")
    detail = _text()


class FindingInput(StrictInputSerializer):
    text = serializers.CharField(trim_whitespace=False, allow_blank=True)


class CoachingPointInput(StrictInputSerializer):
    skill = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    text = serializers.CharField(trim_whitespace=False, allow_blank=True)


class ReviewActionItemInput(StrictInputSerializer):
    read_only_hints = {"done": "Use POST /action-items/{id}/complete/."}
    title = serializers.CharField(trim_whitespace=False, allow_blank=True, help_text="≤ 300.")
    due_on = serializers.DateField(help_text="Today or later, within a year.")
    owner = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_ID,
        help_text="The rep (default) or the manager of the review.",
    )  # fmt: skip


class ReviewCompleteInput(StrictInputSerializer):
    confirm = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: complete even with agenda points not ticked as discussed.",
    )


class ReviewFilter(django_filters.FilterSet):
    rep = IdFilter(field_name="rep_id")
    manager = IdFilter(field_name="manager_id")
    opportunity = IdFilter(field_name="opportunity_id")
    status = django_filters.ChoiceFilter(choices=ReviewStatus.choices)

    class Meta:
        model = OpportunityReview
        fields: list[str] = []


def _review_response(request: Request, review_id: int, *, status_code: int = 200) -> Response:
    review = selectors.review_get_for(request.user, review_id)
    return Response(OpportunityReviewOutput(review).data, status=status_code)


class AgendaDiscussedInput(serializers.Serializer):
    discussed = serializers.BooleanField()


@extend_schema(tags=["coaching"])
class OpportunityReviewViewSet(ApiViewSet):
    """Coaching reviews of one deal the user may see: a rep those of their deals, a manager
    their teams' (and those they held), a leader everyone's. Latest first. Only the manager
    holding a review (or a leader) changes it, while it is in progress."""

    queryset = OpportunityReview.objects.none()
    filterset_class = ReviewFilter
    input_serializers = {
        "create": ReviewCreateInput,
        "agenda": AgendaItemInput,
        "agenda_discussed": AgendaDiscussedInput,
        "findings": FindingInput,
        "coaching_points": CoachingPointInput,
        "action_items": ReviewActionItemInput,
        "complete": ReviewCompleteInput,
    }

    def get_queryset(self) -> QuerySet[OpportunityReview]:
        return selectors.reviews_for(self.request.user)

    @extend_schema(responses={200: OpportunityReviewListOutput(many=True), **errors(400, 404)})
    def list(self, request: Request) -> Response:
        return self.paginated(
            self.filter_queryset(self.get_queryset()), OpportunityReviewListOutput
        )

    @extend_schema(parameters=[ID], responses={200: OpportunityReviewOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        return _review_response(request, int_or_404(pk))

    @extend_schema(
        request=ReviewCreateInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: OpportunityReviewOutput, **errors(400, 403, 404, 409)},
        description="Start a review of an open deal with its owner; the agenda is generated "
        "from the deal's gaps. A rep gets 403, as does a manager for their own deal; a deal "
        "outside your teams 404; a closed deal 409 (opportunity_closed); a deal with a "
        "review in progress 409 (review_in_progress, details.review is its id).",
    )
    def create(self, request: Request) -> Response:
        data = valid(ReviewCreateInput, request)
        review = services.review_start(actor=request.user, opportunity_id=data["opportunity"])
        return _review_response(request, review.pk, status_code=201)

    @extend_schema(
        methods=["GET"],
        operation_id="opportunity_reviews_agenda_list",
        parameters=[ID],
        request=None,
        responses={200: ReviewAgendaItemOutput(many=True), **errors(404)},
        description="The review's agenda, in order.",
    )
    @extend_schema(
        methods=["POST"],
        operation_id="opportunity_reviews_agenda_create",
        parameters=[ID, IDEMPOTENCY_KEY],
        request=AgendaItemInput,
        responses={201: ReviewAgendaItemOutput, **errors(400, 403, 404, 409)},
        description="Add a point of your own after the generated ones (title ≤ 300, "
        "detail ≤ 5,000). A completed review: 409 review_completed.",
    )
    # The whole agenda in one plain list (a review has a handful of points): no pagination,
    # and none of the review list's filters apply to it.
    @action(
        detail=True, methods=["get", "post"], url_path="agenda",
        pagination_class=None, filter_backends=[],
    )  # fmt: skip
    def agenda(self, request: Request, pk: str) -> Response:
        review = selectors.review_get_for(request.user, int_or_404(pk))
        if request.method == "GET":
            return Response(ReviewAgendaItemOutput(review.agenda_items.all(), many=True).data)
        data = valid(AgendaItemInput, request)
        item = services.agenda_item_add(
            actor=request.user, review_id=review.pk, title=data["title"],
            detail=data.get("detail", ""),
        )  # fmt: skip
        return Response(ReviewAgendaItemOutput(item).data, status=201)

    @extend_schema(
        operation_id="opportunity_reviews_agenda_discussed",
        parameters=[
            ID,
            OpenApiParameter("item_id", OpenApiTypes.INT, OpenApiParameter.PATH),
            IDEMPOTENCY_KEY,
        ],
        request=AgendaDiscussedInput,
        responses={200: ReviewAgendaItemOutput, **errors(400, 403, 404, 409)},
        description="Tick an agenda point as discussed (or not), as the review page does; "
        "twice changes nothing. A point of another review: 404.",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"agenda/(?P<item_id>[^/.]+)/discussed",
        url_name="agenda-discussed",
    )
    def agenda_discussed(self, request: Request, pk: str, item_id: str) -> Response:
        review = selectors.review_get_for(request.user, int_or_404(pk))
        data = valid(AgendaDiscussedInput, request)
        item = review.agenda_items.filter(pk=int_or_404(item_id)).first()
        if item is None:
            raise Http404("No such agenda point in this review.")
        item = services.agenda_item_set_discussed(
            actor=request.user, item_id=item.pk, discussed=data["discussed"]
        )
        return Response(ReviewAgendaItemOutput(item).data)

    @extend_schema(
        operation_id="opportunity_reviews_findings_create",
        parameters=[ID, IDEMPOTENCY_KEY],
        request=FindingInput,
        responses={201: ReviewFindingOutput, **errors(400, 403, 404, 409)},
        description="Record a finding about the deal.",
    )
    @action(detail=True, methods=["post"], url_path="findings")
    def findings(self, request: Request, pk: str) -> Response:
        review = selectors.review_get_for(request.user, int_or_404(pk))
        data = valid(FindingInput, request)
        finding = services.review_finding_add(
            actor=request.user, review_id=review.pk, text=data["text"]
        )
        return Response(ReviewFindingOutput(finding).data, status=201)

    @extend_schema(
        operation_id="opportunity_reviews_coaching_points_create",
        parameters=[ID, IDEMPOTENCY_KEY],
        request=CoachingPointInput,
        responses={201: CoachingPointOutput, **errors(400, 403, 404, 409)},
        description="Record a coaching point tied to an active skill of the framework "
        "(otherwise 400 with details.skill).",
    )
    @action(detail=True, methods=["post"], url_path="coaching-points")
    def coaching_points(self, request: Request, pk: str) -> Response:
        review = selectors.review_get_for(request.user, int_or_404(pk))
        data = valid(CoachingPointInput, request)
        point = services.review_coaching_point_add(
            actor=request.user, review_id=review.pk, skill_id=data["skill"], text=data["text"]
        )
        return Response(CoachingPointOutput(point).data, status=201)

    @extend_schema(
        operation_id="opportunity_reviews_action_items_create",
        parameters=[ID, IDEMPOTENCY_KEY],
        request=ReviewActionItemInput,
        responses={201: ActionItemOutput, **errors(400, 403, 404, 409)},
        description="Give the rep (default) or the manager an action item. A due date in "
        "the past or over a year ahead: 400 details.due_on.",
    )
    @action(detail=True, methods=["post"], url_path="action-items")
    def action_items(self, request: Request, pk: str) -> Response:
        review = selectors.review_get_for(request.user, int_or_404(pk))
        data = valid(ReviewActionItemInput, request)
        item = services.review_action_item_add(
            actor=request.user,
            review_id=review.pk,
            title=data["title"],
            due_on=data["due_on"],
            owner_id=data.get("owner"),
        )
        return Response(ActionItemOutput(item).data, status=201)

    @extend_schema(
        operation_id="opportunity_reviews_complete",
        parameters=[ID, IDEMPOTENCY_KEY],
        request=ReviewCompleteInput,
        responses={200: OpportunityReviewOutput, **errors(400, 403, 404, 409)},
        description="Complete the review: it is frozen from now on and the rep is sent the "
        "action items. Agenda points not ticked as discussed: 409 undiscussed_points "
        "(details.undiscussed lists them, {id, title}) unless the body says "
        '{"confirm": true}. Already completed: 409 review_completed.',
    )
    @action(detail=True, methods=["post"], url_path="complete")
    def complete(self, request: Request, pk: str) -> Response:
        review = selectors.review_get_for(request.user, int_or_404(pk))
        data = valid(ReviewCompleteInput, request)
        services.review_complete(actor=request.user, review_id=review.pk, confirm=data["confirm"])
        return _review_response(request, review.pk)


BOOL_CHOICES = [("true", "true"), ("false", "false")]


def _true(value: str) -> bool:
    return value == "true"


class ActionItemFilter(django_filters.FilterSet):
    owner = IdFilter(field_name="owner_id")
    # "true"/"false" only: a NullBooleanField would read "perhaps" as no filter at all.
    done = django_filters.TypedChoiceFilter(
        choices=BOOL_CHOICES, coerce=_true, method="filter_done", help_text="true: done only."
    )
    overdue = django_filters.TypedChoiceFilter(
        choices=BOOL_CHOICES,
        coerce=_true,
        method="filter_overdue",
        help_text="true: open and past their due date.",
    )

    class Meta:
        model = ActionItem
        fields: list[str] = []

    def filter_done(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(done_at__isnull=not value)

    def filter_overdue(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        overdue = Q(done_at__isnull=True, due_on__lt=organisation.current().today())
        return queryset.filter(overdue if value else ~overdue)


@extend_schema(tags=["coaching"])
class ActionItemViewSet(ApiViewSet):
    """Action items of the reviews and 1:1s the user may see, and their own; soonest due
    first. Their owner, the manager who set them, or a leader ticks them off."""

    queryset = ActionItem.objects.none()
    filterset_class = ActionItemFilter

    def get_queryset(self) -> QuerySet[ActionItem]:
        return selectors.action_items_for(self.request.user)

    @extend_schema(responses={200: ActionItemOutput(many=True), **errors(400, 404)})
    def list(self, request: Request) -> Response:
        return self.paginated(self.filter_queryset(self.get_queryset()), ActionItemOutput)

    @extend_schema(parameters=[ID], responses={200: ActionItemOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        item = selectors.action_item_get_for(request.user, int_or_404(pk))
        return Response(ActionItemOutput(item).data)

    def _set_done(self, request: Request, pk: str, done: bool) -> Response:
        item = selectors.action_item_get_for(request.user, int_or_404(pk))
        services.action_item_set_done(actor=request.user, item_id=item.pk, done=done)
        fresh = selectors.action_item_get_for(request.user, item.pk)
        return Response(ActionItemOutput(fresh).data)

    @extend_schema(
        operation_id="action_items_complete",
        parameters=[ID, IDEMPOTENCY_KEY],
        request=None,
        responses={200: ActionItemOutput, **errors(403, 404)},
        description="Mark it done (again: no change). Its owner, the manager of its review "
        "or 1:1, or a leader; others who see it: 403.",
    )
    @action(detail=True, methods=["post"], url_path="complete")
    def complete(self, request: Request, pk: str) -> Response:
        return self._set_done(request, pk, True)

    @extend_schema(
        operation_id="action_items_reopen",
        parameters=[ID, IDEMPOTENCY_KEY],
        request=None,
        responses={200: ActionItemOutput, **errors(403, 404)},
        description="Open it again. The same people as complete.",
    )
    @action(detail=True, methods=["post"], url_path="reopen")
    def reopen(self, request: Request, pk: str) -> Response:
        return self._set_done(request, pk, False)
