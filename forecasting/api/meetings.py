"""Forecast meetings of a team about a period.

GET/POST /api/v1/forecast/meetings/, GET/PATCH /api/v1/forecast/meetings/{id}/ (no PUT,
no DELETE: 405). Read in scope (a rep the meetings they attended, a manager their teams',
a leader all); recorded and changed by a manager of the team or a leader. The numbers are
frozen when the meeting is recorded; each response with one meeting carries its ETag
(its version) and PATCH with a stale If-Match is refused (412)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from forecasting import selectors as forecasting_selectors
from forecasting import services as forecasting_services
from forecasting.api.common import QUOTA_MAX_ID
from forecasting.api.submissions import SubmissionFiguresOutput
from forecasting.models import Quota
from salesops.api.etag import expected_version, with_etag
from salesops.api.schema import IDEMPOTENCY_KEY, IF_MATCH, errors
from salesops.api.serializers import StrictInputSerializer
from salesops.api.viewsets import ApiViewSet, int_or_404, valid


class MeetingFiguresRowOutput(SubmissionFiguresOutput):
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    team = serializers.IntegerField(allow_null=True)


class MeetingFiguresOutput(serializers.Serializer):
    """The team's numbers when the meeting was recorded (see /forecast/summary/), decimal
    strings in `currency`."""

    currency = serializers.CharField()
    totals = SubmissionFiguresOutput()
    by_owner = MeetingFiguresRowOutput(many=True)


class MeetingRiskOutput(serializers.Serializer):
    opportunity_id = serializers.IntegerField()
    name = serializers.CharField()
    owner_id = serializers.IntegerField()
    owner_name = serializers.CharField()
    amount = serializers.CharField(help_text="A decimal as a string, in `currency`.")
    currency = serializers.CharField()
    forecast_category = serializers.CharField()
    close_date = serializers.DateField()
    severity = serializers.CharField(help_text='"critical" (an open critical flag) or "warning".')
    reasons = serializers.ListField(child=serializers.CharField(), help_text="In words.")


class MeetingChangeItemOutput(serializers.Serializer):
    opportunity_id = serializers.IntegerField()
    name = serializers.CharField()
    currency = serializers.CharField()
    delta = serializers.CharField()
    amount_before = serializers.CharField(allow_null=True)
    amount_after = serializers.CharField(allow_null=True)
    close_date_before = serializers.DateField(allow_null=True)
    close_date_after = serializers.DateField(allow_null=True)


class MeetingChangeGroupOutput(serializers.Serializer):
    kind = serializers.CharField(
        help_text="A kind of forecasting.rules.Change: new, pulled_in, pushed_out, amount_up, "
        "amount_down, won, lost, moved_in, moved_out, dropped."
    )
    label = serializers.CharField()
    count = serializers.IntegerField(help_text="Deals (exact).")
    deltas = serializers.DictField(
        child=serializers.CharField(), help_text="Per currency: the change to the pipeline."
    )
    items = MeetingChangeItemOutput(many=True, help_text="The largest 50 changes.")


class MeetingPreviousOutput(serializers.Serializer):
    id = serializers.IntegerField()
    held_on = serializers.DateField()


class MeetingChangesOutput(serializers.Serializer):
    previous_meeting = MeetingPreviousOutput(
        allow_null=True, help_text="The meeting compared with; null: the first one."
    )
    figure_deltas = serializers.DictField(
        child=serializers.CharField(allow_null=True),
        allow_null=True,
        help_text="Each total now minus at the previous meeting; null: no previous meeting.",
    )
    basis = serializers.ChoiceField(
        choices=["previous_meeting", "previous_week"],
        help_text="previous_week: no previous meeting, the deals compared with last week.",
    )
    from_week = serializers.DateField(allow_null=True)
    to_week = serializers.DateField(allow_null=True)
    available = serializers.BooleanField(help_text="False: a week without a snapshot.")
    opening = serializers.DictField(child=serializers.CharField())
    closing = serializers.DictField(child=serializers.CharField())
    deals = MeetingChangeGroupOutput(many=True)


class MeetingAttendeeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="__str__")


class MeetingListOutput(serializers.Serializer):
    id = serializers.IntegerField()
    period = serializers.SerializerMethodField(help_text='The period\'s label, e.g. "2026-Q3".')
    period_kind = serializers.CharField()
    period_start = serializers.DateField()
    team = serializers.IntegerField(source="team_id")
    team_name = serializers.CharField(source="team.name")
    held_on = serializers.DateField()
    attendee_count = serializers.IntegerField(default=0)
    risk_count = serializers.SerializerMethodField()
    created_by = serializers.IntegerField(source="created_by_id")
    created_by_name = serializers.CharField(source="created_by.__str__")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    version = serializers.IntegerField(help_text="The ETag; send it as If-Match to PATCH.")

    def get_period(self, meeting: Any) -> str:
        return forecasting_selectors.meeting_period_label(meeting)

    def get_risk_count(self, meeting: Any) -> int:
        return len(meeting.risks)


class MeetingOutput(MeetingListOutput):
    notes = serializers.CharField()
    attendees = MeetingAttendeeOutput(many=True, source="attendees.all")
    figures = MeetingFiguresOutput()
    risks = MeetingRiskOutput(many=True)
    changes = MeetingChangesOutput()
    previous_meeting = serializers.SerializerMethodField(
        help_text="The meeting of the team and period before this one that you may see."
    )
    next_meeting = serializers.SerializerMethodField()

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_previous_meeting(self, meeting: Any) -> int | None:
        before = self.context.get("neighbours", (None, None))[0]
        return before.pk if before else None

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_next_meeting(self, meeting: Any) -> int | None:
        after = self.context.get("neighbours", (None, None))[1]
        return after.pk if after else None


def _attendees_field(*, required: bool) -> serializers.ListField:
    return serializers.ListField(
        required=required,
        child=serializers.IntegerField(min_value=1, max_value=QUOTA_MAX_ID),
        max_length=forecasting_services.MEETING_MAX_ATTENDEES,
        help_text="User ids: members of the team or its sub-teams, its managers, leaders.",
    )


class MeetingInput(StrictInputSerializer):
    read_only_hints = {
        "id": "It is assigned by the server.",
        "figures": "They are computed by the server.",
        "risks": "They are computed by the server.",
        "changes": "They are computed by the server.",
        "version": "It is set by the server.",
        "created_by": "You are the creator.",
    }
    period = serializers.CharField(
        help_text='A fiscal month ("2026-07") or quarter ("2026-Q3", "FY2027-Q1").'
    )
    team = serializers.IntegerField(min_value=1, max_value=QUOTA_MAX_ID)
    held_on = serializers.DateField(
        required=False, allow_null=True, help_text="Default: today. Not in the future."
    )
    attendees = _attendees_field(required=True)
    notes = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


class MeetingUpdateInput(StrictInputSerializer):
    read_only_hints = {
        **MeetingInput.read_only_hints,
        "period": "A meeting's period does not change; record another meeting.",
        "team": "A meeting's team does not change; record another meeting.",
    }
    held_on = serializers.DateField(required=False, help_text="Not in the future.")
    attendees = _attendees_field(required=False)
    notes = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


class MeetingQuery(serializers.Serializer):
    period = serializers.CharField(required=False, help_text='A period label, e.g. "2026-Q3".')
    team = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=QUOTA_MAX_ID,
        help_text="The team's meetings and its sub-teams'.",
    )


def _meeting_response(request: Request, pk: int, *, status_code: int = 200) -> Response:
    meeting = forecasting_selectors.meeting_get_for(request.user, pk)
    neighbours = forecasting_selectors.meeting_neighbours(request.user, meeting)
    data = MeetingOutput(meeting, context={"request": request, "neighbours": neighbours}).data
    return with_etag(Response(data, status=status_code), meeting.version)


@extend_schema(tags=["forecasting"])
class ForecastMeetingViewSet(ApiViewSet):
    """Forecast meetings of a team about a period, with the numbers frozen when recorded.
    No PUT and no DELETE (405)."""

    queryset = Quota.objects.none()  # for the schema; reads use selectors
    filter_backends: list[Any] = []
    input_serializers = {"create": MeetingInput, "partial_update": MeetingUpdateInput}

    @extend_schema(
        parameters=[MeetingQuery],
        responses={200: MeetingListOutput(many=True), **errors(400, 404)},
        description="The meetings you may see, latest first: a rep those they attended; "
        "a manager those of their teams (and those they attended); a leader all.",
    )
    def list(self, request: Request) -> Response:
        query = MeetingQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        rows = forecasting_selectors.meetings_for(
            request.user, period=data.get("period"), team=data.get("team")
        )
        return self.paginated(rows, MeetingListOutput)

    @extend_schema(responses={200: MeetingOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        return _meeting_response(request, int_or_404(pk))

    @extend_schema(
        request=MeetingInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: MeetingOutput, **errors(400, 403, 404, 409)},
        description="Record a team's forecast meeting: a manager of the team or a leader "
        "(a rep: 403; a team you do not manage: 404). The team's figures, the deals at "
        "risk and the changes since the previous meeting are computed and frozen. "
        "held_on: today or up to a year back. Attendees: members of the team or its "
        "sub-teams, its managers or leaders. The same team, period and day again: 409 "
        "`duplicate_meeting`.",
    )
    def create(self, request: Request) -> Response:
        data = valid(MeetingInput, request)
        meeting = forecasting_services.meeting_create(
            actor=request.user,
            period=data["period"],
            team_id=data["team"],
            held_on=data.get("held_on"),
            attendee_ids=data["attendees"],
            notes=data.get("notes", ""),
        )
        return _meeting_response(request, meeting.pk, status_code=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[IF_MATCH],
        request=MeetingUpdateInput,
        responses={200: MeetingOutput, **errors(400, 403, 404, 409, 412)},
        description="Change the notes, attendees or date: a manager of the team or a "
        "leader (a rep who attended: 403). The numbers never change.",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        meeting = forecasting_selectors.meeting_get_for(request.user, int_or_404(pk))
        data = valid(MeetingUpdateInput, request)
        changes = {"attendee_ids" if k == "attendees" else k: v for k, v in data.items()}
        forecasting_services.meeting_update(
            actor=request.user,
            meeting_id=meeting.pk,
            expected_version=expected_version(request),
            **changes,
        )
        return _meeting_response(request, meeting.pk)
