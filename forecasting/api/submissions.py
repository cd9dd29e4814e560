"""Forecast calls (submissions): immutable, a later call supersedes an earlier one.

GET/POST /api/v1/forecast/submissions/, GET /api/v1/forecast/submissions/{id}/ (no
update, no delete: 405) and GET /api/v1/forecast/submissions/missing/."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from forecasting import selectors as forecasting_selectors
from forecasting import services as forecasting_services
from forecasting.api.common import QUOTA_MAX_ID, PeriodOutput
from forecasting.models import Quota
from salesops.api.schema import IDEMPOTENCY_KEY, errors
from salesops.api.serializers import StrictInputSerializer
from salesops.api.viewsets import ApiViewSet, int_or_404, valid


def _sub_money(help_text: str = "") -> serializers.CharField:
    return serializers.CharField(
        allow_null=True, help_text=help_text or "A decimal as a string; null: none."
    )


class SubmissionFiguresOutput(serializers.Serializer):
    """The system's totals for the scope when the call was made (see /forecast/summary/),
    numbers as decimal strings."""

    currency = serializers.CharField()
    closed_won = _sub_money()
    commit = _sub_money()
    best_case = _sub_money()
    pipeline = _sub_money()
    commit_cumulative = _sub_money()
    best_case_cumulative = _sub_money()
    pipeline_cumulative = _sub_money()
    open_pipeline = _sub_money()
    weighted_pipeline = _sub_money()
    quota = _sub_money()
    attainment_percent = _sub_money()
    remaining = _sub_money()
    coverage = _sub_money()


class RepCallOutput(serializers.Serializer):
    rep = serializers.IntegerField()
    name = serializers.CharField()
    team = serializers.IntegerField(allow_null=True)
    submission = serializers.IntegerField(allow_null=True, help_text="Null: no call yet.")
    commit = _sub_money()
    best_case = _sub_money()
    currency = serializers.CharField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)


class SubmissionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    period = serializers.SerializerMethodField(help_text='The period\'s label, e.g. "2026-Q3".')
    period_kind = serializers.CharField()
    period_start = serializers.DateField()
    level = serializers.ChoiceField(choices=["rep", "team"])
    submitter = serializers.IntegerField(source="submitter_id")
    submitter_name = serializers.SerializerMethodField()
    team = serializers.IntegerField(source="team_id", allow_null=True)
    team_name = serializers.SerializerMethodField()
    commit = serializers.DecimalField(max_digits=14, decimal_places=2)
    best_case = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    notes = serializers.CharField()
    adjustment_note = serializers.CharField()
    figures = SubmissionFiguresOutput()
    reps_calls = RepCallOutput(many=True, help_text="Team level: each rep's latest call.")
    submitted_at = serializers.DateTimeField()
    supersedes = serializers.IntegerField(source="supersedes_id", allow_null=True)
    superseded_by = serializers.IntegerField(
        source="next_id", allow_null=True, help_text="Null: this is the latest call."
    )

    def get_period(self, submission: Any) -> str:
        return forecasting_selectors.submission_period_label(submission)

    def get_submitter_name(self, submission: Any) -> str:
        return str(submission.submitter)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_team_name(self, submission: Any) -> str | None:
        return submission.team.name if submission.team_id else None


class SubmissionInput(StrictInputSerializer):
    read_only_hints = {
        "id": "It is assigned by the server.",
        "figures": "They are computed by the server.",
        "reps_calls": "They are read by the server.",
        "submitted_at": "It is set by the server.",
        "supersedes": "A new call supersedes your latest one by itself.",
    }
    period = serializers.CharField(
        help_text='A fiscal month ("2026-07") or quarter ("2026-Q3", "FY2027-Q1").'
    )
    # No quantizing here (it raised on 1e30): the service checks the range and rounds.
    commit = serializers.DecimalField(max_digits=None, decimal_places=None)
    best_case = serializers.DecimalField(max_digits=None, decimal_places=None)
    notes = serializers.CharField(required=False, allow_blank=True)
    team = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=QUOTA_MAX_ID,
        help_text="A team call (managers, leaders); absent: your own call (reps).",
    )
    adjustment_note = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Required when a team's call differs from the sum of its reps' calls.",
    )
    currency = serializers.CharField(
        required=False, help_text="Three letters; default: the organisation's currency."
    )


class SubmissionQuery(serializers.Serializer):
    period = serializers.CharField(required=False, help_text='A period label, e.g. "2026-Q3".')
    person = serializers.IntegerField(
        required=False, min_value=1, max_value=QUOTA_MAX_ID, help_text="The submitter."
    )
    team = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=QUOTA_MAX_ID,
        help_text="The team's calls and its reps', sub-teams included.",
    )
    level = serializers.ChoiceField(required=False, choices=["rep", "team"])
    latest = serializers.BooleanField(
        required=False, default=False, help_text="Only the latest call of each chain."
    )


class MissingQuery(serializers.Serializer):
    period = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text='"2026-Q3", "2026-07" or "FY2027-Q1"; default: the current quarter.',
    )


class MissingPersonOutput(serializers.Serializer):
    level = serializers.ChoiceField(
        choices=["rep", "team"], help_text="rep: their own call; team: a call for `team`."
    )
    person = serializers.IntegerField(source="person_id")
    name = serializers.CharField()
    team = serializers.IntegerField(source="team_id", allow_null=True)
    team_name = serializers.CharField(allow_null=True)
    last_submitted_at = serializers.DateTimeField(
        allow_null=True, help_text="Their latest call of the period (before this week)."
    )


class NotSubmittedOutput(serializers.Serializer):
    period = PeriodOutput()
    week = serializers.DateField(help_text="This week's Monday.")
    since = serializers.DateTimeField()
    people = MissingPersonOutput(many=True)


@extend_schema(tags=["forecasting"])
class ForecastSubmissionViewSet(ApiViewSet):
    """Forecast calls: immutable. A later call supersedes an earlier one; there is no
    update and no delete (PUT, PATCH and DELETE: 405)."""

    queryset = Quota.objects.none()  # for the schema; reads use selectors
    filter_backends: list[Any] = []
    input_serializers = {"create": SubmissionInput}

    @extend_schema(
        parameters=[SubmissionQuery],
        responses={200: SubmissionOutput(many=True), **errors(400, 404)},
        description="The calls you may see, newest first: a rep their own; a manager "
        "theirs, their reps' and every call for the teams they manage; a leader all.",
    )
    def list(self, request: Request) -> Response:
        query = SubmissionQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        rows = forecasting_selectors.submissions_for(
            request.user,
            period=data.get("period"),
            person=data.get("person"),
            team=data.get("team"),
            level=data.get("level"),
            latest=data["latest"],
        )
        return self.paginated(rows, SubmissionOutput)

    @extend_schema(
        request=SubmissionInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: SubmissionOutput, **errors(400, 403, 404, 409, 413)},
        description="Submit a call for `period`: without `team` your own (reps); with "
        "`team` the team's (its manager, or a leader). It records the system's numbers "
        "at this moment and supersedes your previous call of the same period and team. "
        "A team call that differs from the sum of its reps' calls needs "
        "`adjustment_note`. A period already over: 409 `period_closed`.",
    )
    def create(self, request: Request) -> Response:
        data = valid(SubmissionInput, request)
        submission = forecasting_services.forecast_submit(
            actor=request.user,
            period=data["period"],
            commit=data["commit"],
            best_case=data["best_case"],
            notes=data.get("notes", ""),
            team_id=data.get("team"),
            adjustment_note=data.get("adjustment_note", ""),
            currency=data.get("currency"),
        )
        submission = forecasting_selectors.submission_get_for(request.user, submission.pk)
        return Response(SubmissionOutput(submission).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: SubmissionOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        submission = forecasting_selectors.submission_get_for(request.user, int_or_404(pk))
        return Response(SubmissionOutput(submission).data)

    @extend_schema(
        parameters=[MissingQuery],
        responses={200: NotSubmittedOutput, **errors(400, 404)},
        description="Who in your scope has not submitted a call for the period since "
        "this week's Monday (organisation's timezone): reps for themselves, managers for "
        "each team they manage.",
    )
    @action(detail=False, methods=["get"], url_path="missing", pagination_class=None)
    def missing(self, request: Request) -> Response:
        query = MissingQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        result = forecasting_selectors.not_submitted_this_week(
            request.user, query.validated_data.get("period")
        )
        return Response(NotSubmittedOutput(result).data)
