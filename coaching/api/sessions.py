"""1:1 coaching sessions: serializers and views.

/api/v1/coaching-sessions/: read in scope (a rep their own, a manager their teams', a
leader all), recorded by a manager of the rep or a leader. Each response with one 1:1
carries its ETag (its last change); PATCH with a stale If-Match is refused (412)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from coaching import selectors, services
from coaching.api.common import ID, MAX_ID, text_field
from coaching.api.skills import SkillLevelOutput
from coaching.models import ActionItem, CoachingSession, Skill
from salesops import access
from salesops.api.etag import expected_version, with_etag
from salesops.api.schema import IDEMPOTENCY_KEY, IF_MATCH, errors
from salesops.api.serializers import StrictInputSerializer
from salesops.api.viewsets import ApiViewSet, IdFilter, int_or_404, valid


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
    notes = text_field()
    practice_assignment = text_field()
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
    notes = text_field()
    practice_assignment = text_field()


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
            assert detail is not None  # `items` came from it
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
