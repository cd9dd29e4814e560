"""The accuracy of past forecast calls and the rows of the weekly pipeline snapshots.

GET /api/v1/forecast/accuracy/ and GET /api/v1/forecast/snapshots/ (everyone, in their
scope)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from forecasting import accuracy as forecasting_accuracy
from forecasting.api.common import QUOTA_MAX_ID, SCOPE_TEXT, PeriodOutput, money
from forecasting.models import Quota
from salesops.api.schema import errors, one_object
from salesops.api.viewsets import ApiViewSet


def _ratio(help_text: str) -> serializers.FloatField:
    return serializers.FloatField(read_only=True, allow_null=True, help_text=help_text)


class AccuracyQuery(serializers.Serializer):
    person = serializers.IntegerField(
        required=False, min_value=1, max_value=QUOTA_MAX_ID, help_text="The caller."
    )
    level = serializers.ChoiceField(required=False, choices=["rep", "team"])
    team = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=QUOTA_MAX_ID,
        help_text="The team's calls and its reps', sub-teams included.",
    )
    kind = serializers.ChoiceField(required=False, choices=["quarter", "month"], default="quarter")
    periods = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=forecasting_accuracy.MAX_PERIODS,
        default=4,
        help_text="How many closed periods, the latest last (default 4).",
    )
    checkpoints = serializers.CharField(
        required=False,
        help_text='Weeks of the period, comma-separated, e.g. "1,6" (at most 4; a quarter '
        "1-13, a month 1-4). Default: 1,6 for a quarter, 1,3 for a month.",
    )
    currency = serializers.CharField(
        required=False, help_text="Default: the organisation's currency."
    )


class AccuracyRowOutput(serializers.Serializer):
    person = serializers.IntegerField(source="person_id")
    person_name = serializers.CharField()
    level = serializers.ChoiceField(choices=["rep", "team"])
    team = serializers.IntegerField(
        source="team_id", allow_null=True, help_text="Team level: the team; rep level: theirs now."
    )
    team_name = serializers.CharField(allow_null=True)
    period = serializers.CharField(help_text='The period\'s label, e.g. "2026-Q3".')
    checkpoint = serializers.IntegerField(help_text="The week of the period.")
    cutoff = serializers.DateTimeField(help_text="The call counted was the latest before this.")
    submission = serializers.IntegerField(source="submission_id", allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)
    submitted = money("The call's commit; null: no call to compare.", allow_null=True)
    best_case = money("The call's best case.", allow_null=True)
    actual = money("Closed won of the scope in the period.")
    error = money("submitted − actual: positive = over-forecast.", allow_null=True)
    best_case_error = money("best case − actual.", allow_null=True)
    accuracy = _ratio("1 − |error| ÷ actual (1 = exact); null: no call or no closed won.")
    note = serializers.CharField(
        help_text='Empty when compared; "no call", "call in USD" (another currency) or '
        '"no closed won".'
    )


class AccuracyPersonOutput(serializers.Serializer):
    person = serializers.IntegerField(source="person_id")
    person_name = serializers.CharField()
    level = serializers.ChoiceField(choices=["rep", "team"])
    team = serializers.IntegerField(source="team_id", allow_null=True)
    team_name = serializers.CharField(allow_null=True)
    checkpoint = serializers.IntegerField()
    periods = serializers.IntegerField(help_text="Periods with a call or a call owed.")
    calls = serializers.IntegerField(help_text="Periods with a call compared.")
    accuracy = _ratio("Mean accuracy of the periods that have one.")
    accuracy_periods = serializers.IntegerField()
    bias = money("Mean error of the calls (positive = over-forecast).", allow_null=True)
    bias_ratio = _ratio("Σ error ÷ Σ actual of the calls.")
    note = serializers.CharField(help_text='Empty, "no call" or "no closed won".')


@one_object
class AccuracyOutput(serializers.Serializer):
    currency = serializers.CharField()
    kind = serializers.CharField()
    checkpoints = serializers.ListField(child=serializers.IntegerField())
    periods = PeriodOutput(many=True, help_text="Oldest first.")
    person = serializers.IntegerField(source="person_id", allow_null=True)
    level = serializers.CharField(allow_null=True)
    team = serializers.IntegerField(source="team_id", allow_null=True)
    by_person = AccuracyPersonOutput(many=True)
    rows = AccuracyRowOutput(many=True)


@extend_schema(tags=["forecasting"])
class ForecastAccuracyViewSet(ApiViewSet):
    """The accuracy and bias of past forecast calls."""

    queryset = Quota.objects.none()  # for the schema; reads use selectors
    filter_backends: list[Any] = []
    pagination_class = None

    @extend_schema(
        parameters=[AccuracyQuery],
        responses={200: AccuracyOutput, **errors(400, 404)},
        description="For each of the last `periods` closed periods and each checkpoint "
        "week: every call standing at the end of that week (the latest submitted before "
        "it, per person, level and team) against the closed won of its scope in the "
        "period (a rep's deals; a team's with its sub-teams, by the owners' teams now): "
        "error = commit − actual, accuracy = 1 − |error| ÷ actual. People who owed a "
        'call and made none have rows with note "no call". `by_person`: per person, '
        "level, team and checkpoint, the mean accuracy, the mean error (bias) and "
        "Σ error ÷ Σ actual. Scope: a rep their own calls, a manager theirs and their "
        "teams', a leader all; outside it: 404. Bad parameters: 400 naming the field.",
    )
    def list(self, request: Request) -> Response:
        query = AccuracyQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        report = forecasting_accuracy.forecast_accuracy(
            request.user,
            person_id=data.get("person"),
            level=data.get("level"),
            team_id=data.get("team"),
            kind=data["kind"],
            periods=data["periods"],
            checkpoints=data.get("checkpoints"),
            currency=data.get("currency"),
        )
        return Response(AccuracyOutput(report).data)


class SnapshotQuery(serializers.Serializer):
    week = serializers.DateField(
        required=False,
        help_text="A Monday, YYYY-MM-DD; default: the latest week with a snapshot.",
    )
    team = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=QUOTA_MAX_ID,
        help_text="The row's team that week, with its sub-teams.",
    )
    owner = serializers.IntegerField(
        required=False, min_value=1, max_value=QUOTA_MAX_ID, help_text="The owner that week."
    )
    period = serializers.CharField(
        required=False,
        help_text='Deals closing in this period that week: "2026-Q3", "2026-07", "FY2027-Q1".',
    )


class SnapshotRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SnapshotRowOutput(serializers.Serializer):
    week = serializers.DateField(help_text="The Monday of the snapshot's week.")
    opportunity = serializers.SerializerMethodField()
    owner = serializers.SerializerMethodField(help_text="That week; null: the user was deleted.")
    team = serializers.SerializerMethodField(help_text="The owner's team that week.")
    stage = serializers.SerializerMethodField()
    forecast_category = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    close_date = serializers.DateField()
    status = serializers.CharField()

    @extend_schema_field(SnapshotRefOutput)
    def get_opportunity(self, row: Any) -> dict[str, Any]:
        return {"id": row.opportunity_id, "name": row.opportunity.name}

    @extend_schema_field(SnapshotRefOutput(allow_null=True))
    def get_owner(self, row: Any) -> dict[str, Any] | None:
        return {"id": row.owner_id, "name": str(row.owner)} if row.owner_id else None

    @extend_schema_field(SnapshotRefOutput(allow_null=True))
    def get_team(self, row: Any) -> dict[str, Any] | None:
        return {"id": row.team_id, "name": row.team.name} if row.team_id else None

    @extend_schema_field(SnapshotRefOutput)
    def get_stage(self, row: Any) -> dict[str, Any]:
        return {"id": row.stage_id, "name": row.stage.name}


@extend_schema(tags=["forecasting"])
class ForecastSnapshotViewSet(ApiViewSet):
    """The rows of the weekly pipeline snapshots."""

    queryset = Quota.objects.none()  # for the schema; reads use selectors
    filter_backends: list[Any] = []

    @extend_schema(
        parameters=[SnapshotQuery],
        responses={200: SnapshotRowOutput(many=True), **errors(400, 404)},
        description="Each open deal as the snapshot of `week` recorded it (default: the "
        "latest week with a snapshot), ordered by opportunity id. " + SCOPE_TEXT + " A "
        "`week` that is not a Monday or has not begun, or a bad period: 400.",
    )
    def list(self, request: Request) -> Response:
        query = SnapshotQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        result = forecasting_accuracy.snapshot_rows_for(
            request.user,
            week=data.get("week"),
            team_id=data.get("team"),
            owner_id=data.get("owner"),
            period=data.get("period"),
        )
        return self.paginated(result.rows, SnapshotRowOutput)
