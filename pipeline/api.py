"""The pipeline's REST API (/api/v1/): serializers and thin views.

A view validates input with a serializer (types only — the services hold the rules),
calls one selector or service, and serializes the result. Reads go through
pipeline.selectors, so an opportunity outside the user's scope is a 404 on every
endpoint, nested ones and actions included. Writes go through pipeline.services.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import django_filters
from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from pipeline import exports, rules, selectors, services
from pipeline.blueprints import BLUEPRINTS
from pipeline.models import (
    Account,
    Activity,
    ActivityKind,
    AutoCheck,
    BusinessIssue,
    EvidenceSource,
    FlagKind,
    FlagSeverity,
    ForecastCategory,
    Milestone,
    MilestoneCompleter,
    MilestoneCompletion,
    MilestoneElementLevel,
    MilestoneKind,
    Opportunity,
    OpportunityChange,
    OpportunityFlag,
    OpportunityStatus,
    Pipeline,
    Product,
    Qualification,
    QualificationElement,
    QualificationFramework,
    QualificationScore,
    Stage,
)
from salesops.api.etag import expected_version, with_etag
from salesops.api.permissions import (
    ApiKeyScopePermission,
    ConfiguresSalesProcessOrReadOnly,
    IsAdminRoleOrReadOnly,
)
from salesops.api.schema import IDEMPOTENCY_KEY, IF_MATCH, errors
from salesops.api.serializers import ErrorOutput, StrictInputSerializer
from salesops.api.viewsets import (
    MAX_ID,
    ApiViewSet,
    CsvExportViewSet,
    IdFilter,
    get_or_404,
    int_or_404,
    valid,
)
from salesops.cleaning import MAX_SMALL_INT
from salesops.models import User

# --- output serializers (no per-row queries: they read what the selectors joined) ---


class UserRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField(source="get_full_name")


class AccountRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class StageRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    order = serializers.IntegerField()


class ProductRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class OpenFlagOutput(serializers.ModelSerializer):
    class Meta:
        model = OpportunityFlag
        fields = ["kind", "severity", "explanation", "raised_at"]
        read_only_fields = fields


class LatestQualificationOutput(serializers.Serializer):
    score_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, help_text="Weighted score, in %."
    )
    assessed_at = serializers.DateTimeField()
    valid = serializers.BooleanField(
        help_text="Neither expired (the stage's validity period) nor voided by a change."
    )


class OpportunityOutput(serializers.ModelSerializer):
    account = AccountRefOutput()
    owner = UserRefOutput()
    stage = StageRefOutput()
    pipeline = serializers.IntegerField(source="pipeline_id")
    product = ProductRefOutput(allow_null=True, help_text="What the deal sells (null: none).")
    url = serializers.HyperlinkedIdentityField(view_name="api:opportunity-detail")
    open_flags = OpenFlagOutput(
        many=True, read_only=True, help_text="Open attention flags, newest first."
    )
    qualification = serializers.SerializerMethodField(
        help_text="The latest qualification (null when the deal was never qualified); its "
        "history is at /api/v1/opportunities/{id}/qualifications/."
    )

    class Meta:
        model = Opportunity
        fields = [
            "id", "name", "account", "owner", "pipeline", "stage", "product", "amount",
            "currency", "close_date", "forecast_category", "forecast_category_override_reason",
            "next_step", "next_step_date", "status", "loss_reason", "source", "external_id",
            "stage_entered_at", "last_activity_at", "closed_at", "version", "created_at",
            "updated_at", "url", "open_flags", "qualification",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(LatestQualificationOutput(allow_null=True))
    def get_qualification(self, opp: Opportunity) -> dict[str, Any] | None:
        return _latest_qualification(_opportunity_row(opp), self._timezone())

    def to_representation(self, opp: Opportunity | Mapping[str, Any]) -> dict[str, Any]:
        """The same JSON as the declared fields (the schema documents those, and a test
        checks the two agree), built directly: a generic field-by-field pass over a page of
        50 rows was half of the list endpoint's time.

        Takes a row (the list reads its page as `OPPORTUNITY_COLUMNS` rows plus
        `open_flags`) or an instance (a detail read, what a service returned), which is read
        into the same row first."""
        row = opp if isinstance(opp, Mapping) else _opportunity_row(opp)
        detail_prefix = self._detail_prefix()
        tz = self._timezone()
        return {
            "id": row["id"],
            "name": row["name"],
            "account": {"id": row["account_id"], "name": row["account__name"]},
            "owner": {
                "id": row["owner_id"],
                "username": row["owner__username"],
                # User.get_full_name (AbstractUser's), from the row's columns.
                "name": f"{row['owner__first_name']} {row['owner__last_name']}".strip(),
            },
            "pipeline": row["pipeline_id"],
            "stage": {
                "id": row["stage_id"],
                "name": row["stage__name"],
                "order": row["stage__order"],
            },
            "product": (
                {"id": row["product_id"], "name": row["product__name"]}
                if row["product_id"] is not None
                else None
            ),
            "amount": _decimal_text(row["amount"]),
            "currency": row["currency"],
            "close_date": _date_text(row["close_date"]),
            "forecast_category": row["forecast_category"],
            "forecast_category_override_reason": row["forecast_category_override_reason"],
            "next_step": row["next_step"],
            "next_step_date": _date_text(row["next_step_date"]),
            "status": row["status"],
            "loss_reason": row["loss_reason"],
            "source": row["source"],
            "external_id": row["external_id"],
            "stage_entered_at": _datetime_text(row["stage_entered_at"], tz),
            "last_activity_at": _datetime_text(row["last_activity_at"], tz),
            "closed_at": _datetime_text(row["closed_at"], tz),
            "version": row["version"],
            "created_at": _datetime_text(row["created_at"], tz),
            "updated_at": _datetime_text(row["updated_at"], tz),
            "url": f"{detail_prefix}{row['id']}/",
            "open_flags": [
                {
                    "kind": flag["kind"],
                    "severity": flag["severity"],
                    "explanation": flag["explanation"],
                    "raised_at": _datetime_text(flag["raised_at"], tz),
                }
                for flag in row["open_flags"]
            ],
            "qualification": _latest_qualification(row, tz),
        }

    def _timezone(self) -> dt.tzinfo:
        # Looked up once per response (a context-local read costs ~4 µs, ×300 a page). Not
        # setdefault(): that would evaluate the lookup on every call anyway.
        context = self.context
        if "_timezone" not in context:
            context["_timezone"] = timezone.get_current_timezone()
        return context["_timezone"]

    def _detail_prefix(self) -> str:
        # Reversed once per response (the list serializer shares its context with rows).
        context = self.context
        if "_opportunity_url_prefix" not in context:
            list_path = reverse("api:opportunity-list")
            request = context.get("request")
            context["_opportunity_url_prefix"] = (
                request.build_absolute_uri(list_path) if request is not None else list_path
            )
        return context["_opportunity_url_prefix"]


# What OpportunityOutput reads, as .values() paths. The list reads its page as rows of these:
# building model instances (four an opportunity: it, its account, owner and stage) and
# prefetching flags onto them took 4.1 ms of CPU a page of 50, rows with their flags 2.8 ms.
OPPORTUNITY_COLUMNS = (
    "id", "name", "account_id", "account__name", "owner_id", "owner__username",
    "owner__first_name", "owner__last_name", "pipeline_id", "stage_id", "stage__name",
    "stage__order", "stage__qualification_validity_days", "product_id", "product__name",
    "amount", "currency", "close_date",
    "forecast_category", "forecast_category_override_reason", "next_step", "next_step_date",
    "status", "loss_reason", "source", "external_id", "stage_entered_at", "last_activity_at",
    "closed_at", "version", "created_at", "updated_at", "latest_qualification__score_pct",
    "latest_qualification__assessed_at", "latest_qualification__invalidated_at",
)  # fmt: skip


def _opportunity_row(opp: Opportunity) -> dict[str, Any]:
    """An opportunity instance read with selectors.with_attention (or attention_load) in
    the shape of a list row: its OPPORTUNITY_COLUMNS and its `open_flags`."""
    row: dict[str, Any] = {}
    for column in OPPORTUNITY_COLUMNS:
        value: Any = opp
        for name in column.split("__"):
            value = None if value is None else getattr(value, name)
        row[column] = value
    row["open_flags"] = [
        {name: getattr(flag, name) for name in selectors.OPEN_FLAG_COLUMNS}
        for flag in opp.open_flags
    ]
    return row


_DATETIME_FIELD = serializers.DateTimeField()


def _decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _date_text(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _datetime_text(value: dt.datetime | None, tz: dt.tzinfo | None = None) -> str | None:
    """DRF's own formatting (ISO 8601 in the current timezone, "Z" for UTC), without its
    per-call settings lookups: ~300 datetimes a page of 50. Pass `tz` (the current
    timezone, looked up once) when formatting many."""
    if value is None:
        return None
    if timezone.is_naive(value):
        return _DATETIME_FIELD.to_representation(value)
    text = value.astimezone(tz or timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _latest_qualification(row: Mapping[str, Any], tz: dt.tzinfo) -> dict[str, Any] | None:
    """The latest qualification of an opportunity row (None: never qualified)."""
    assessed_at = row["latest_qualification__assessed_at"]
    if assessed_at is None:  # a NOT NULL column: no latest qualification joined
        return None
    valid = rules.qualification_is_valid(
        assessed_at=assessed_at,
        invalidated_at=row["latest_qualification__invalidated_at"],
        # services.qualification_validity_days (the stage's period, else the default).
        validity_days=row["stage__qualification_validity_days"]
        or settings.QUALIFICATION_VALIDITY_DAYS,
        now=timezone.now(),
    )
    return {
        "score_pct": _decimal_text(row["latest_qualification__score_pct"]),
        "assessed_at": _datetime_text(assessed_at, tz),
        "valid": valid,
    }


class OpportunityChangeOutput(serializers.ModelSerializer):
    changed_by = UserRefOutput(allow_null=True)

    class Meta:
        model = OpportunityChange
        fields = [
            "id", "field", "old_value", "new_value", "old_display", "new_display",
            "changed_by", "changed_at", "override_reason", "note",
        ]  # fmt: skip
        read_only_fields = fields


class ActivityOutput(serializers.ModelSerializer):
    opportunity = serializers.IntegerField(source="opportunity_id")
    logged_by = UserRefOutput()

    class Meta:
        model = Activity
        fields = [
            "id", "opportunity", "kind", "subject", "body", "occurred_at", "logged_by",
            "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class BusinessIssueOutput(serializers.ModelSerializer):
    opportunity = serializers.IntegerField(source="opportunity_id")
    created_by = serializers.IntegerField(source="created_by_id")

    class Meta:
        model = BusinessIssue
        fields = [
            "id", "opportunity", "issue", "impact", "our_value", "quantified_value",
            "created_by", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class CompletionOutput(serializers.ModelSerializer):
    milestone = serializers.IntegerField(source="milestone_id")
    opportunity = serializers.IntegerField(source="opportunity_id")
    completed_by = UserRefOutput()

    class Meta:
        model = MilestoneCompletion
        fields = ["milestone", "opportunity", "evidence", "completed_by", "completed_at"]
        read_only_fields = fields


class CompletionStateOutput(serializers.Serializer):
    evidence = serializers.CharField()
    completed_by = UserRefOutput()
    completed_at = serializers.DateTimeField()


class MilestoneStateOutput(serializers.Serializer):
    """One milestone of the opportunity's pipeline and whether it is met for it."""

    id = serializers.IntegerField(source="milestone.id")
    title = serializers.CharField(source="milestone.title")
    description = serializers.CharField(source="milestone.description")
    kind = serializers.ChoiceField(source="milestone.kind", choices=MilestoneKind.choices)
    required = serializers.BooleanField(source="milestone.required")
    requires_evidence = serializers.BooleanField(source="milestone.requires_evidence")
    automatic = serializers.SerializerMethodField(help_text="Checked by the system, not ticked.")
    auto_check = serializers.CharField(source="milestone.auto_check")
    completable_by = serializers.ChoiceField(
        source="milestone.completable_by", choices=MilestoneCompleter.choices,
        help_text="Who may tick it: `owner` (the owner or their manager) or `manager` (only "
        "the owner's manager). An automatic milestone is ticked by nobody.",
    )  # fmt: skip
    stage = StageRefOutput(source="milestone.stage")
    met = serializers.BooleanField()
    completion = CompletionStateOutput(allow_null=True)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_automatic(self, row: selectors.MilestoneRow) -> bool:
        return bool(row.milestone.auto_check)


class AccountOutput(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = [
            "id", "name", "domain", "industry", "employees", "country", "source", "external_id",
            "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class ProductOutput(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = [
            "id", "name", "family", "list_price", "currency", "is_active", "source",
            "external_id", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


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


# --- qualification and flags ---------------------------------------------------------


class RefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class FrameworkElementInlineOutput(serializers.ModelSerializer):
    class Meta:
        model = QualificationElement
        fields = ["id", "name", "guidance", "weight", "order"]
        read_only_fields = fields


class QualificationFrameworkOutput(serializers.ModelSerializer):
    elements = FrameworkElementInlineOutput(many=True, read_only=True, help_text="In order.")

    class Meta:
        model = QualificationFramework
        fields = ["id", "name", "description", "is_active", "elements"]
        read_only_fields = fields


class FrameworkElementOutput(serializers.ModelSerializer):
    framework = serializers.IntegerField(source="framework_id")

    class Meta:
        model = QualificationElement
        fields = ["id", "framework", "name", "guidance", "weight", "order"]
        read_only_fields = fields


class QualificationScoreOutput(serializers.ModelSerializer):
    element = RefOutput()
    level = serializers.SerializerMethodField(help_text="The score in words.")
    # Declared, not generated: a generated read-only field drops `allow_blank`, and the
    # schema's enum then lacked the "" a score below 2 has (no evidence, so no source).
    source = serializers.ChoiceField(
        choices=EvidenceSource.choices, allow_blank=True, read_only=True,
        help_text="Where the evidence comes from; empty for a score below 2.",
    )  # fmt: skip

    class Meta:
        model = QualificationScore
        fields = ["element", "score", "level", "evidence", "source"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_level(self, score: QualificationScore) -> str:
        return rules.SCORE_LEVELS.get(score.score, "")


class QualificationOutput(serializers.ModelSerializer):
    """One assessment. Needs `opportunity` (its stage sets the validity period) and
    `latest_id` in the context: only the latest qualification can be valid."""

    opportunity = serializers.IntegerField(source="opportunity_id")
    framework = RefOutput()
    assessed_by = UserRefOutput()
    valid = serializers.SerializerMethodField(
        help_text="True for the latest qualification while it neither expired nor was voided; "
        "an older one is superseded (false)."
    )
    valid_until = serializers.SerializerMethodField(
        help_text="When it expires: assessed_at plus the current stage's validity period."
    )
    scores = QualificationScoreOutput(many=True, read_only=True, help_text="In element order.")

    class Meta:
        model = Qualification
        fields = [
            "id", "opportunity", "score_pct", "framework", "assessed_by", "assessed_at", "valid",
            "valid_until", "invalidated_at", "invalidated_reason", "note", "scores",
        ]  # fmt: skip
        read_only_fields = fields

    def _valid_until(self, qualification: Qualification) -> dt.datetime:
        days = services.qualification_validity_days(self.context["opportunity"].stage)
        return rules.qualification_expires_at(
            assessed_at=qualification.assessed_at, validity_days=days
        )

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_valid(self, qualification: Qualification) -> bool:
        return (
            qualification.pk == self.context.get("latest_id")
            and qualification.invalidated_at is None
            and timezone.now() < self._valid_until(qualification)
        )

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_valid_until(self, qualification: Qualification) -> str | None:
        return _datetime_text(self._valid_until(qualification))


class FlagOwnerOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class FlagOutput(serializers.ModelSerializer):
    opportunity = RefOutput()
    owner = FlagOwnerOutput(source="opportunity.owner", help_text="The opportunity's owner.")

    class Meta:
        model = OpportunityFlag
        fields = [
            "id", "opportunity", "owner", "kind", "severity", "explanation", "raised_at",
            "cleared_at",
        ]  # fmt: skip
        read_only_fields = fields


# --- input serializers (types only; the services validate values) ------------------

_ADVANCE = "Move the opportunity with POST /api/v1/opportunities/{id}/advance/ (the gate applies)."
_CLOSE = "Close with POST /api/v1/opportunities/{id}/close-won/ or /close-lost/."
OPPORTUNITY_READ_ONLY_HINTS = {
    "id": "It is assigned by the server.",
    "url": "It is assigned by the server.",
    "stage": _ADVANCE,
    "stage_entered_at": _ADVANCE,
    "status": _CLOSE,
    "closed_at": _CLOSE,
    "loss_reason": "Close with POST /api/v1/opportunities/{id}/close-lost/ and a loss_reason.",
    "version": "Send the ETag you read in the If-Match header instead.",
    "history": "History is append-only; read it at /api/v1/opportunities/{id}/history/.",
    "changes": "History is append-only; read it at /api/v1/opportunities/{id}/history/.",
    "last_activity_at": "Log an activity at /api/v1/opportunities/{id}/activities/.",
    "created_at": "It is set by the server.",
    "updated_at": "It is set by the server.",
}
_SET_AT_CREATION = "It is set when the opportunity is created."


class OpportunityWriteFields(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    account = serializers.PrimaryKeyRelatedField(
        queryset=selectors.account_list(), required=False, allow_null=True
    )
    amount = serializers.DecimalField(max_digits=None, decimal_places=None, required=False)
    currency = serializers.CharField(required=False, allow_blank=True)
    close_date = serializers.DateField(required=False, allow_null=True)
    next_step = serializers.CharField(required=False, allow_blank=True)
    next_step_date = serializers.DateField(required=False, allow_null=True)
    forecast_category = serializers.ChoiceField(
        choices=ForecastCategory.choices, required=False, allow_blank=True
    )
    forecast_category_override_reason = serializers.CharField(required=False, allow_blank=True)
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False)
    product = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.all(), required=False, allow_null=True,
        help_text="Id of an active product (null: none). A deal keeps a product deactivated "
        "since it was chosen.",
    )  # fmt: skip


class OpportunityCreateInput(OpportunityWriteFields):
    """Create an opportunity. It starts in the first open stage of its pipeline."""

    read_only_hints = OPPORTUNITY_READ_ONLY_HINTS
    required_any_of = ("account", "new_account_name")
    # Required (opportunity_create refuses without); blank or null still reach the service,
    # which refuses them with its own message, as the pages show it.
    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    close_date = serializers.DateField(allow_null=True)
    pipeline = serializers.PrimaryKeyRelatedField(
        queryset=Pipeline.objects.all(), required=False,
        help_text="Defaults to the first active pipeline.",
    )  # fmt: skip
    source = serializers.CharField(required=False, allow_blank=True)
    external_id = serializers.CharField(required=False, allow_blank=True)
    new_account_name = serializers.CharField(
        required=False, allow_blank=True,
        help_text="Instead of `account`: creates this account together with the opportunity "
        "(both or neither are saved).",
    )  # fmt: skip


class OpportunityUpdateInput(OpportunityWriteFields):
    read_only_hints = {
        **OPPORTUNITY_READ_ONLY_HINTS,
        "pipeline": _SET_AT_CREATION,
        "source": _SET_AT_CREATION,
        "external_id": _SET_AT_CREATION,
    }


class OpportunityUpsertInput(OpportunityWriteFields):
    read_only_hints = {
        **OPPORTUNITY_READ_ONLY_HINTS,
        "source": "It is given by the URL.",
        "external_id": "It is given by the URL.",
    }
    pipeline = serializers.PrimaryKeyRelatedField(
        queryset=Pipeline.objects.all(), required=False,
        help_text="Used when the opportunity is created; ignored on update.",
    )  # fmt: skip


class AdvanceInput(StrictInputSerializer):
    stage = serializers.IntegerField(
        min_value=1, help_text="Id of a stage of the opportunity's pipeline."
    )
    # Not trimmed: a reason of only spaces is refused by the service with its own message.
    override_reason = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False,
        help_text="A manager of the owner (or a leader) may move past unmet milestones "
        "with a reason; it is recorded in the history. A reason of only spaces is refused "
        "(409 `gate_not_met` with `details.override_reason`).",
    )  # fmt: skip
    loss_reason = serializers.CharField(
        required=False, allow_blank=True, help_text="Required when the stage is a lost stage."
    )
    # --- pipeline: category override on stage moves ---
    forecast_category_on_move = serializers.ChoiceField(
        choices=rules.CATEGORY_ON_MOVE_CHOICES, required=False,
        help_text="Only needed when the forecast category was set by hand (with a reason) "
        "and the target open stage defaults to another category: `keep` keeps the manual "
        "category and its reason, `follow` takes the stage's default and ends the override "
        "(recorded in the history). Without it such a move is refused with 409 "
        "`category_override_decision`. Ignored when closing.",
    )  # fmt: skip


# --- pipeline: category override on stage moves ---
CATEGORY_DECISION_409 = OpenApiResponse(
    ErrorOutput,
    description="Conflicts with the current state: `gate_not_met` lists the missing "
    "milestones in `details.missing`; `category_override_decision` asks whether to keep the "
    "forecast category set by hand or use the target stage's default — send the move again "
    "with `forecast_category_on_move`; `same_stage`, `opportunity_closed`.",
    examples=[
        OpenApiExample(
            "category_override_decision",
            status_codes=["409"],
            response_only=True,
            value={
                "code": "category_override_decision",
                "message": "This deal's forecast category was set by hand to Commit (reason: "
                "Signed LOI). Stage 'Proposal' defaults to Best case. Keep Commit or use "
                "Best case?",
                "details": {
                    "current_category": "commit",
                    "override_reason": "Signed LOI",
                    "stage_default": "best_case",
                    "target_stage": 3,
                    "target_stage_name": "Proposal",
                    "choices": [
                        {"value": "keep", "category": "commit", "label": "Keep Commit"},
                        {"value": "follow", "category": "best_case", "label": "Use Best case"},
                    ],
                },
            },
        )
    ],
)


class CloseWonInput(StrictInputSerializer):
    override_reason = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


class CloseLostInput(StrictInputSerializer):
    loss_reason = serializers.CharField(allow_blank=True)


class MilestoneCompleteInput(StrictInputSerializer):
    evidence = serializers.CharField(required=False, allow_blank=True)


class ActivityInput(StrictInputSerializer):
    kind = serializers.ChoiceField(choices=ActivityKind.choices)
    subject = serializers.CharField(allow_blank=True)
    body = serializers.CharField(required=False, allow_blank=True)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True)


class BusinessIssueInput(StrictInputSerializer):
    read_only_hints = {"id": "It is assigned by the server.", "opportunity": _SET_AT_CREATION}
    issue = serializers.CharField(allow_blank=True)  # PATCH validates with partial=True
    impact = serializers.CharField(required=False, allow_blank=True)
    our_value = serializers.CharField(required=False, allow_blank=True)
    quantified_value = serializers.DecimalField(
        max_digits=None, decimal_places=None, required=False, allow_null=True
    )


class AccountInput(StrictInputSerializer):
    read_only_hints = {
        "id": "It is assigned by the server.",
        "created_at": "It is set by the server.",
    }
    name = serializers.CharField(allow_blank=True)  # PATCH validates with partial=True
    domain = serializers.CharField(required=False, allow_blank=True)
    industry = serializers.CharField(required=False, allow_blank=True)
    employees = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=services.MAX_INT
    )
    country = serializers.CharField(required=False, allow_blank=True)
    source = serializers.CharField(required=False, allow_blank=True)
    external_id = serializers.CharField(required=False, allow_blank=True)


class ProductInput(StrictInputSerializer):
    read_only_hints = {
        "id": "It is assigned by the server.",
        "created_at": "It is set by the server.",
    }
    name = serializers.CharField(allow_blank=True)  # PATCH validates with partial=True
    family = serializers.CharField(required=False, allow_blank=True)
    list_price = serializers.DecimalField(
        max_digits=None, decimal_places=None, required=False, allow_null=True
    )
    currency = serializers.CharField(
        required=False, allow_blank=True, help_text="ISO 4217 code, e.g. EUR; empty: none."
    )
    is_active = serializers.BooleanField(
        required=False, help_text="false takes the product off the offer; deals keep it."
    )
    source = serializers.CharField(required=False, allow_blank=True)
    external_id = serializers.CharField(required=False, allow_blank=True)


class ProductQuery(serializers.Serializer):
    active = serializers.ChoiceField(
        choices=["true", "false"], required=False,
        help_text="`true`: products on offer; `false`: those taken off it.",
    )  # fmt: skip
    search = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="In the name."
    )


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
    read_only_hints = {"id": "It is assigned by the server.", "pipeline": _SET_AT_CREATION}
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


@contextlib.contextmanager
def _list_errors_by_element(data: Any, field: str) -> Iterator[None]:
    """Re-key a list field's per-item errors from the item's index to its `element` id
    (`#<index>` without a usable id): the structure the services use, so a client reads
    `details.<field>.<element id>.<attribute>` whichever layer refused."""
    try:
        yield
    except serializers.ValidationError as exc:
        detail = exc.detail
        items = data.get(field) if isinstance(data, Mapping) else None
        if (
            isinstance(detail, dict)
            and isinstance(detail.get(field), dict)
            and isinstance(items, list)
        ):
            keyed: dict[str, dict[str, Any]] = {}
            for index, item_errors in detail[field].items():
                raw = (
                    items[int(index)].get("element")
                    if isinstance(items[int(index)], Mapping)
                    else None
                )
                key = (
                    str(raw)
                    if isinstance(raw, int) and not isinstance(raw, bool) and 0 < raw <= MAX_ID
                    else f"#{index}"
                )
                errors = (
                    item_errors if isinstance(item_errors, dict)
                    else {"non_field_errors": item_errors}
                )  # fmt: skip
                for name, messages in errors.items():
                    keyed.setdefault(key, {}).setdefault(name, []).extend(messages)
            detail[field] = keyed
        raise


class MilestoneUpdateInput(StrictInputSerializer):
    read_only_hints = {"id": "It is assigned by the server.", "stage": _SET_AT_CREATION}
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
        with _list_errors_by_element(data, "element_levels"):
            return super().to_internal_value(data)


class MilestoneCreateInput(MilestoneUpdateInput):
    read_only_hints = {"id": "It is assigned by the server."}
    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.all())
    title = serializers.CharField(allow_blank=True)
    kind = serializers.ChoiceField(choices=MilestoneKind.choices)


class QualificationFrameworkInput(StrictInputSerializer):
    read_only_hints = {
        "id": "It is assigned by the server.",
        "elements": "Add and change elements at /api/v1/framework-elements/.",
    }
    name = serializers.CharField(allow_blank=True)  # PATCH validates with partial=True
    description = serializers.CharField(required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class FrameworkElementUpdateInput(StrictInputSerializer):
    read_only_hints = {"id": "It is assigned by the server.", "framework": _SET_AT_CREATION}
    name = serializers.CharField(required=False, allow_blank=True)
    guidance = serializers.CharField(required=False, allow_blank=True)
    weight = serializers.IntegerField(required=False, min_value=1, max_value=100)
    order = serializers.IntegerField(required=False, min_value=0, max_value=MAX_SMALL_INT)


class FrameworkElementCreateInput(FrameworkElementUpdateInput):
    read_only_hints = {"id": "It is assigned by the server."}
    framework = serializers.PrimaryKeyRelatedField(queryset=QualificationFramework.objects.all())
    name = serializers.CharField(allow_blank=True)


class QualificationScoreInput(StrictInputSerializer):
    element = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="Id of an element of the pipeline's framework."
    )
    score = serializers.IntegerField(
        min_value=0, max_value=rules.MAX_SCORE,
        help_text="0 unknown, 1 identified, 2 partly validated, 3 validated with evidence.",
    )  # fmt: skip
    evidence = serializers.CharField(
        required=False, allow_blank=True, max_length=services.MAX_TEXT,
        help_text="Required for a score of 2 or 3: what the customer said, sent or did.",
    )  # fmt: skip
    source = serializers.ChoiceField(
        choices=EvidenceSource.choices, required=False, allow_blank=True,
        help_text="Where the evidence comes from; required for a score of 2 or 3.",
    )  # fmt: skip


class QualificationInput(StrictInputSerializer):
    scores = serializers.ListField(
        child=QualificationScoreInput(), max_length=200,
        help_text="One entry for every element of the framework of the deal's pipeline.",
    )  # fmt: skip
    note = serializers.CharField(required=False, allow_blank=True, max_length=services.MAX_TEXT)

    def to_internal_value(self, data: Any) -> Any:
        with _list_errors_by_element(data, "scores"):
            return super().to_internal_value(data)


# --- filters -----------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.STR)
class TextFilter(django_filters.CharFilter):
    """A text filter applied by a method (the schema cannot infer its type from a field)."""


class OpportunityFilter(django_filters.FilterSet):
    """The opportunity list's filters (and its CSV export's). Team, source, external id and
    search apply selectors.opportunity_filter — the one rule the list page uses too."""

    owner = IdFilter(field_name="owner_id")
    stage = IdFilter(field_name="stage_id")
    status = django_filters.ChoiceFilter(choices=OpportunityStatus.choices)
    team = IdFilter(
        method="filter_selector", help_text="Team of the owner, its sub-teams included."
    )
    pipeline = IdFilter(field_name="pipeline_id")
    source = TextFilter(method="filter_selector", help_text="The system a deal came from (exact).")
    external_id = TextFilter(
        method="filter_selector", help_text="The deal's id in that system (exact)."
    )
    close_date_after = django_filters.DateFilter(field_name="close_date", lookup_expr="gte")
    close_date_before = django_filters.DateFilter(field_name="close_date", lookup_expr="lte")
    close_date_from = django_filters.DateFilter(
        field_name="close_date", lookup_expr="gte", help_text="Alias of close_date_after."
    )
    close_date_to = django_filters.DateFilter(
        field_name="close_date", lookup_expr="lte", help_text="Alias of close_date_before."
    )
    search = TextFilter(method="filter_selector", help_text="In name or account.")

    class Meta:
        model = Opportunity
        fields: list[str] = []

    def filter_selector(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        return selectors.opportunity_filter(queryset, {name: value})


class StageFilter(django_filters.FilterSet):
    pipeline = IdFilter(field_name="pipeline_id")

    class Meta:
        model = Stage
        fields: list[str] = []


class FrameworkElementFilter(django_filters.FilterSet):
    framework = IdFilter(field_name="framework_id")

    class Meta:
        model = QualificationElement
        fields: list[str] = []


class FlagFilter(django_filters.FilterSet):
    opportunity = IdFilter(field_name="opportunity_id")
    kind = django_filters.ChoiceFilter(choices=FlagKind.choices)
    owner = IdFilter(field_name="opportunity__owner_id", help_text="Owner of the opportunity.")
    open = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")], method="filter_open",
        help_text="`true`: open flags only; `false`: cleared ones only.",
    )  # fmt: skip
    severity = django_filters.ChoiceFilter(choices=FlagSeverity.choices)

    class Meta:
        model = OpportunityFlag
        fields: list[str] = []

    def filter_open(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(cleared_at__isnull=value == "true")


class MilestoneFilter(django_filters.FilterSet):
    stage = IdFilter(field_name="stage_id")
    pipeline = IdFilter(field_name="stage__pipeline_id")

    class Meta:
        model = Milestone
        fields: list[str] = []


# --- opportunities -------------------------------------------------------------------

OPP_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)
MILESTONE_ID = OpenApiParameter("milestone_id", OpenApiTypes.INT, OpenApiParameter.PATH)
EXTERNAL_PARAMS = [
    OpenApiParameter("source", OpenApiTypes.STR, OpenApiParameter.PATH,
                     description="The system the record comes from, e.g. `salesforce`."),
    OpenApiParameter("external_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                     description="The record's id in that system."),
]  # fmt: skip


def _opportunity_response(request: Request, opp: Opportunity, *, status_code: int = 200,
                          created: bool = False) -> Response:  # fmt: skip
    if not hasattr(opp, "open_flags"):  # as a service returned it
        opp = selectors.attention_load(opp)
    data = OpportunityOutput(opp, context={"request": request}).data
    response = Response(data, status=status_code)
    if created:
        response["Location"] = data["url"]
    return with_etag(response, opp.version)


@extend_schema(tags=["opportunities"])
class OpportunityViewSet(ApiViewSet):
    """Opportunities the user may see. Every response with one opportunity carries its
    `ETag`; send it back in `If-Match` to refuse lost updates (412)."""

    queryset = Opportunity.objects.none()  # the model for the schema; reads use selectors
    input_serializers = {
        "create": OpportunityCreateInput,
        "partial_update": OpportunityUpdateInput,
        "advance": AdvanceInput,
        "close_won": CloseWonInput,
        "close_lost": CloseLostInput,
        "milestone_complete": MilestoneCompleteInput,
        "activities_create": ActivityInput,
        "business_issues_create": BusinessIssueInput,
        "by_external_id_upsert": OpportunityUpsertInput,
        "qualifications_create": QualificationInput,
    }
    filterset_class = OpportunityFilter
    # The list's order (opportunity_list_for): `?cursor=` walks it by this key.
    cursor_key = ("close_date", "id")

    def get_queryset(self) -> QuerySet[Opportunity]:
        return selectors.opportunity_list_for(self.request.user)

    def _opp(self, pk: Any) -> Opportunity:
        return selectors.opportunity_get_for(self.request.user, int_or_404(pk))

    @extend_schema(responses={200: OpportunityOutput(many=True), **errors(403, 404)})
    def list(self, request: Request) -> Response:
        # The page as rows of OPPORTUNITY_COLUMNS, not model instances (see there).
        page = self.paginator.paginate_queryset(
            self.filter_queryset(self.get_queryset()), request, self, columns=OPPORTUNITY_COLUMNS
        )
        flags = selectors.open_flags_by_opportunity([row["id"] for row in page])
        for row in page:
            row["open_flags"] = flags.get(row["id"], [])
        data = OpportunityOutput(page, many=True, context=self.ctx()).data
        return self.get_paginated_response(data)

    @extend_schema(
        request=OpportunityCreateInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: OpportunityOutput, **errors(400, 403, 409, 413, 422)},
        description="Create an open opportunity in the first stage of its pipeline. "
        "The stage and status are not writable: use the actions. A close date in the past "
        "is accepted without asking (the pages ask for a confirmation first); the response's "
        "`open_flags` already hold the deal's attention flags (e.g. `past_close_date`).",
    )
    def create(self, request: Request) -> Response:
        data = valid(OpportunityCreateInput, request)
        opp = services.opportunity_create(
            actor=request.user,
            name=data.pop("name", None),
            account=data.pop("account", None),
            close_date=data.pop("close_date", None),
            **data,
        )
        return _opportunity_response(request, opp, status_code=201, created=True)

    @extend_schema(parameters=[OPP_ID], responses={200: OpportunityOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        return _opportunity_response(
            request, selectors.opportunity_api_get_for(request.user, int_or_404(pk))
        )

    @extend_schema(
        parameters=[OPP_ID, IF_MATCH],
        request=OpportunityUpdateInput,
        responses={200: OpportunityOutput, **errors(400, 403, 404, 409, 412)},
        description="Change editable fields. `stage`, `status`, `version` and the other "
        "read-only fields are refused (400); use the actions. A close date in the past is "
        "accepted without asking; `open_flags` in the response follow the change at once.",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        opp = self._opp(pk)
        data = valid(OpportunityUpdateInput, request)
        opp = services.opportunity_update(
            opportunity_id=opp.pk, actor=request.user,
            expected_version=expected_version(request), **data,
        )  # fmt: skip
        return _opportunity_response(request, opp)

    @extend_schema(
        parameters=[OPP_ID],
        responses={204: None, **errors(403, 404)},
        description="Administrators only.",
    )
    def destroy(self, request: Request, pk: str) -> Response:
        opp = self._opp(pk)
        services.opportunity_delete(opportunity_id=opp.pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    # --- state transitions ---

    @extend_schema(
        operation_id="opportunities_advance",
        parameters=[OPP_ID, IF_MATCH, IDEMPOTENCY_KEY],
        request=AdvanceInput,
        responses={
            200: OpportunityOutput,
            **errors(400, 403, 404, 409, 412, 422),
            409: CATEGORY_DECISION_409,
        },
        description="Move to another stage of the pipeline through its gate. 409 "
        "`gate_not_met` lists the missing milestones in `details.missing` (the gate is "
        "checked first). 409 `category_override_decision`: the forecast category was set by "
        "hand and the target stage defaults to another; `details` holds `current_category`, "
        "`override_reason`, `stage_default`, `target_stage` (id), `target_stage_name` and "
        "`choices`; nothing was changed — send the move again with "
        "`forecast_category_on_move` `keep` or `follow`.",
    )
    @action(detail=True, methods=["post"])
    def advance(self, request: Request, pk: str) -> Response:
        opp = self._opp(pk)
        data = valid(AdvanceInput, request)
        opp = services.opportunity_advance(
            opportunity_id=opp.pk, stage_id=data["stage"], actor=request.user,
            override_reason=data.get("override_reason", ""),
            loss_reason=data.get("loss_reason", ""), expected_version=expected_version(request),
            forecast_category_on_move=data.get("forecast_category_on_move"),
        )  # fmt: skip
        return _opportunity_response(request, opp)

    @extend_schema(
        operation_id="opportunities_close_won",
        parameters=[OPP_ID, IF_MATCH, IDEMPOTENCY_KEY],
        request=CloseWonInput,
        responses={200: OpportunityOutput, **errors(400, 403, 404, 409, 412, 422)},
        description="Close as won; the gate of the remaining stages applies.",
    )
    @action(detail=True, methods=["post"], url_path="close-won")
    def close_won(self, request: Request, pk: str) -> Response:
        opp = self._opp(pk)
        data = valid(CloseWonInput, request)
        opp = services.opportunity_close_won(
            opportunity_id=opp.pk, actor=request.user,
            override_reason=data.get("override_reason", ""),
            expected_version=expected_version(request),
        )  # fmt: skip
        return _opportunity_response(request, opp)

    @extend_schema(
        operation_id="opportunities_close_lost",
        parameters=[OPP_ID, IF_MATCH, IDEMPOTENCY_KEY],
        request=CloseLostInput,
        responses={200: OpportunityOutput, **errors(400, 404, 409, 412, 422)},
        description="Close as lost; `loss_reason` is required.",
    )
    @action(detail=True, methods=["post"], url_path="close-lost")
    def close_lost(self, request: Request, pk: str) -> Response:
        opp = self._opp(pk)
        data = valid(CloseLostInput, request)
        opp = services.opportunity_close_lost(
            opportunity_id=opp.pk, actor=request.user, loss_reason=data.get("loss_reason", ""),
            expected_version=expected_version(request),
        )  # fmt: skip
        return _opportunity_response(request, opp)

    # --- milestones ---

    @extend_schema(
        parameters=[OPP_ID],
        responses={200: MilestoneStateOutput(many=True), **errors(404)},
        description="Every milestone of the opportunity's pipeline, in stage order, with "
        "whether it is met for this opportunity.",
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def milestones(self, request: Request, pk: str) -> Response:
        opp = self._opp(pk)
        rows = []
        for group in selectors.milestones_by_stage(opp):
            for row in group.seller_actions + group.buyer_commitments:
                row.milestone.stage = group.stage  # already loaded: no query per row
                rows.append(row)
        rows.sort(key=lambda r: (r.milestone.stage.order, r.milestone.order, r.milestone.id))
        return Response(MilestoneStateOutput(rows, many=True, context=self.ctx()).data)

    @extend_schema(
        operation_id="opportunities_milestones_complete",
        parameters=[OPP_ID, MILESTONE_ID, IDEMPOTENCY_KEY],
        request=MilestoneCompleteInput,
        responses={200: CompletionOutput, **errors(400, 403, 404, 409, 422)},
        description="Tick a milestone, with evidence where the milestone requires it. "
        "Ticking again keeps the first completion (and updates its evidence). 403 "
        "`milestone_manager_only`: the milestone's `completable_by` is `manager` and the caller "
        "is not the owner's manager (nor a leader or admin); 409 `automatic_milestone`: the "
        "system checks it.",
    )
    @action(
        detail=True, methods=["post"], filter_backends=[],
        url_path=r"milestones/(?P<milestone_id>[^/.]+)/complete",
    )  # fmt: skip
    def milestone_complete(self, request: Request, pk: str, milestone_id: str) -> Response:
        opp = self._opp(pk)
        data = valid(MilestoneCompleteInput, request)
        completion = services.milestone_complete(
            opportunity_id=opp.pk, milestone_id=int_or_404(milestone_id), actor=request.user,
            evidence=data.get("evidence", ""),
        )  # fmt: skip
        return Response(CompletionOutput(completion, context=self.ctx()).data)

    @extend_schema(
        operation_id="opportunities_milestones_uncomplete",
        parameters=[OPP_ID, MILESTONE_ID, IDEMPOTENCY_KEY],
        request=None,
        responses={204: None, **errors(403, 404, 409, 422)},
        description="Un-tick a milestone (a no-op when it is not ticked). 403 "
        "`milestone_manager_only` as for ticking.",
    )
    @action(
        detail=True, methods=["post"], filter_backends=[],
        url_path=r"milestones/(?P<milestone_id>[^/.]+)/uncomplete",
    )  # fmt: skip
    def milestone_uncomplete(self, request: Request, pk: str, milestone_id: str) -> Response:
        opp = self._opp(pk)
        services.milestone_uncomplete(
            opportunity_id=opp.pk, milestone_id=int_or_404(milestone_id), actor=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    # --- nested reads and writes ---

    @extend_schema(
        parameters=[OPP_ID],
        responses={200: OpportunityChangeOutput(many=True), **errors(404)},
        description="Append-only history of stage, amount, close date, forecast category, "
        "status and owner changes, newest first.",
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def history(self, request: Request, pk: str) -> Response:
        return self.paginated(selectors.history_for(self._opp(pk)), OpportunityChangeOutput)

    @extend_schema(
        parameters=[OPP_ID],
        responses={200: ActivityOutput(many=True), **errors(404)},
        description="Calls, meetings, emails and notes, newest first.",
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def activities(self, request: Request, pk: str) -> Response:
        return self.paginated(selectors.activities_for(self._opp(pk)), ActivityOutput)

    @extend_schema(
        operation_id="opportunities_activities_create",
        parameters=[OPP_ID, IDEMPOTENCY_KEY],
        request=ActivityInput,
        responses={201: ActivityOutput, **errors(400, 403, 404, 422)},
    )
    @activities.mapping.post
    def activities_create(self, request: Request, pk: str) -> Response:
        opp = self._opp(pk)
        data = valid(ActivityInput, request)
        activity = services.activity_log(
            opportunity_id=opp.pk, actor=request.user, kind=data.pop("kind"),
            subject=data.pop("subject", ""), **data,
        )  # fmt: skip
        return Response(ActivityOutput(activity, context=self.ctx()).data, status=201)

    @extend_schema(
        parameters=[OPP_ID],
        responses={200: BusinessIssueOutput(many=True), **errors(404)},
        description="The customer's business issues mapped to the value we offer.",
    )
    @action(detail=True, methods=["get"], url_path="business-issues", filter_backends=[])
    def business_issues(self, request: Request, pk: str) -> Response:
        return self.paginated(selectors.business_issues_for(self._opp(pk)), BusinessIssueOutput)

    @extend_schema(
        operation_id="opportunities_business_issues_create",
        parameters=[OPP_ID, IDEMPOTENCY_KEY],
        request=BusinessIssueInput,
        responses={201: BusinessIssueOutput, **errors(400, 403, 404, 409, 422)},
    )
    @business_issues.mapping.post
    def business_issues_create(self, request: Request, pk: str) -> Response:
        opp = self._opp(pk)
        data = valid(BusinessIssueInput, request)
        issue = services.business_issue_create(
            opportunity_id=opp.pk, actor=request.user, issue=data.pop("issue", ""), **data
        )
        return Response(BusinessIssueOutput(issue, context=self.ctx()).data, status=201)

    # --- qualification ---

    @extend_schema(
        parameters=[OPP_ID],
        responses={200: QualificationOutput(many=True), **errors(404)},
        description="The history of qualifications, newest first; the latest one counts.",
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def qualifications(self, request: Request, pk: str) -> Response:
        opp = self._opp(pk)
        page = self.paginate_queryset(selectors.qualification_history_for(opp))
        # Newest first: the latest qualification is the first row of page 1 (no query).
        first_page = self.paginator.page.number == 1
        latest_id = page[0].pk if page and first_page else None
        context = {**self.ctx(), "opportunity": opp, "latest_id": latest_id}
        data = QualificationOutput(page, many=True, context=context).data
        return self.get_paginated_response(data)

    @extend_schema(
        operation_id="opportunities_qualifications_create",
        parameters=[OPP_ID, IDEMPOTENCY_KEY],
        request=QualificationInput,
        responses={201: QualificationOutput, **errors(400, 403, 404, 409, 422)},
        description="Qualify the deal: score every element of its pipeline's framework 0–3, "
        "with `evidence` and its `source` for scores of 2 and 3. Nothing is saved unless "
        "every score is valid. A 400 keys the problems of each entry by its element id — "
        '`details.scores` is `{"<element id>": {"score"|"evidence"|"source"|"element": '
        '[messages]}}` (`"#<index>"` for an entry without a usable element id; an element '
        "left out is reported under its id with `score`). 409 `no_framework` when the "
        "pipeline has no framework, `opportunity_closed` for a closed deal.",
    )
    @qualifications.mapping.post
    def qualifications_create(self, request: Request, pk: str) -> Response:
        opp = self._opp(pk)
        data = valid(QualificationInput, request)
        qualification = services.qualification_create(
            opportunity_id=opp.pk, actor=request.user,
            scores=[dict(entry) for entry in data["scores"]], note=data.get("note", ""),
        )  # fmt: skip
        qualification = selectors.qualification_history_for(opp).get(pk=qualification.pk)
        context = {**self.ctx(), "opportunity": opp, "latest_id": qualification.pk}
        return Response(QualificationOutput(qualification, context=context).data, status=201)

    # --- sync by external id ---

    @extend_schema(
        operation_id="opportunities_by_external_id_retrieve",
        parameters=EXTERNAL_PARAMS,
        responses={200: OpportunityOutput, **errors(404)},
    )
    @action(
        detail=False, methods=["get"], filter_backends=[], pagination_class=None,
        url_path=r"by-external-id/(?P<source>[^/]+)/(?P<external_id>[^/]+)",
    )  # fmt: skip
    def by_external_id(self, request: Request, source: str, external_id: str) -> Response:
        opp = selectors.opportunity_get_by_external_id_for(request.user, source, external_id)
        return _opportunity_response(request, opp)

    @extend_schema(
        operation_id="opportunities_by_external_id_upsert",
        parameters=EXTERNAL_PARAMS,
        request=OpportunityUpsertInput,
        responses={
            200: OpportunityOutput,
            201: OpportunityOutput,
            **errors(400, 403, 404, 409, 412),
        },
        description="Create (201) or update (200) the opportunity known to `source` as "
        "`external_id`. Syncing the same record twice never makes a duplicate. Creating it "
        "needs `name`, `account` and `close_date`; an update changes only what is sent. A "
        "record outside your visibility answers 404, as reading it does. The source "
        "system is authoritative here: If-Match is not checked on this endpoint. A close date "
        "in the past is accepted without asking; `open_flags` in the response are decided "
        "at once.",
    )
    @by_external_id.mapping.put
    def by_external_id_upsert(self, request: Request, source: str, external_id: str) -> Response:
        data = valid(OpportunityUpsertInput, request)
        opp, created = services.opportunity_upsert_by_external_id(
            actor=request.user, source=source, external_id=external_id, data=data
        )
        return _opportunity_response(
            request, opp, status_code=201 if created else 200, created=created
        )


# --- attention flags ------------------------------------------------------------------


@extend_schema(tags=["flags"])
class FlagViewSet(ApiViewSet):
    queryset = OpportunityFlag.objects.none()  # the model for the schema; reads use selectors
    filterset_class = FlagFilter

    @extend_schema(
        responses={200: FlagOutput(many=True), **errors(404)},
        description="Attention flags (open and cleared) on the opportunities you may see, "
        "newest first. Raised and cleared by the hourly refresh; read-only.",
    )
    def list(self, request: Request) -> Response:
        flags = self.filter_queryset(selectors.opportunity_flag_list_for(request.user))
        return self.paginated(flags, FlagOutput)


# --- business issues, activities (top level) ---------------------------------------


@extend_schema(tags=["business-issues"])
@extend_schema_view(
    list=extend_schema(responses={200: BusinessIssueOutput(many=True), **errors(404)}),
    retrieve=extend_schema(responses={200: BusinessIssueOutput, **errors(404)}),
)
class BusinessIssueViewSet(ApiViewSet):
    queryset = BusinessIssue.objects.none()  # the model for the schema; reads use selectors
    input_serializers = {
        "partial_update": BusinessIssueInput,
    }
    filter_backends: list[Any] = []

    def list(self, request: Request) -> Response:
        return self.paginated(selectors.business_issue_list_for(request.user), BusinessIssueOutput)

    def retrieve(self, request: Request, pk: str) -> Response:
        issue = selectors.business_issue_get_for(request.user, int_or_404(pk))
        return Response(BusinessIssueOutput(issue, context=self.ctx()).data)

    @extend_schema(
        request=BusinessIssueInput,
        responses={200: BusinessIssueOutput, **errors(400, 403, 404, 409)},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        issue = selectors.business_issue_get_for(request.user, int_or_404(pk))
        data = valid(BusinessIssueInput, request, partial=True)
        issue = services.business_issue_update(
            business_issue_id=issue.pk, actor=request.user, **data
        )
        return Response(BusinessIssueOutput(issue, context=self.ctx()).data)

    @extend_schema(responses={204: None, **errors(403, 404, 409)})
    def destroy(self, request: Request, pk: str) -> Response:
        issue = selectors.business_issue_get_for(request.user, int_or_404(pk))
        services.business_issue_delete(business_issue_id=issue.pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["activities"])
class ActivityViewSet(ApiViewSet):
    queryset = Activity.objects.none()  # the model for the schema; reads use selectors
    filter_backends: list[Any] = []

    @extend_schema(
        responses={200: ActivityOutput(many=True), **errors(404)},
        description="Activities on the opportunities you may see, newest first.",
    )
    def list(self, request: Request) -> Response:
        return self.paginated(selectors.activity_list_for(request.user), ActivityOutput)


# --- accounts -----------------------------------------------------------------------


@extend_schema(tags=["accounts"])
class AccountViewSet(ApiViewSet):
    queryset = Account.objects.none()  # the model for the schema; reads use selectors
    input_serializers = {
        "create": AccountInput,
        "partial_update": AccountInput,
    }
    filter_backends: list[Any] = []

    @extend_schema(
        parameters=[OpenApiParameter("search", OpenApiTypes.STR, description="In the name.")],
        responses={200: AccountOutput(many=True), **errors(404)},
    )
    def list(self, request: Request) -> Response:
        search = request.query_params.get("search", "")
        return self.paginated(selectors.account_list(search), AccountOutput)

    @extend_schema(
        request=AccountInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: AccountOutput, **errors(400, 403, 413, 422)},
    )
    def create(self, request: Request) -> Response:
        data = valid(AccountInput, request)
        account = services.account_create(actor=request.user, name=data.pop("name", ""), **data)
        return Response(AccountOutput(account, context=self.ctx()).data, status=201)

    @extend_schema(responses={200: AccountOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        account = selectors.account_get(int_or_404(pk))
        return Response(AccountOutput(account, context=self.ctx()).data)

    @extend_schema(
        request=AccountInput,
        responses={200: AccountOutput, **errors(400, 403, 404)},
        description="Managers, sales leaders and administrators change any account; a rep "
        "only one no one else's deal uses (else 403 `account_shared`).",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        account = selectors.account_get(int_or_404(pk))
        data = valid(AccountInput, request, partial=True)
        account = services.account_update(account_id=account.pk, actor=request.user, **data)
        return Response(AccountOutput(account, context=self.ctx()).data)

    @extend_schema(
        responses={204: None, **errors(403, 404, 409)},
        description="Administrators only; refused while opportunities use the account.",
    )
    def destroy(self, request: Request, pk: str) -> Response:
        account = selectors.account_get(int_or_404(pk))
        services.account_delete(account_id=account.pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- products: everyone reads the catalogue, administrators write it --------------------


def _product_query(request: Request) -> dict[str, Any]:
    """The catalogue's list filters from the query string (a bad value is a 400)."""
    query = ProductQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    active = query.validated_data.get("active")
    return {
        "active": None if active is None else active == "true",
        "search": query.validated_data.get("search", ""),
    }


@extend_schema(tags=["products"])
class ProductViewSet(ApiViewSet):
    """The product catalogue: what a deal sells (optional on an opportunity)."""

    permission_classes = [ApiKeyScopePermission, IsAdminRoleOrReadOnly]
    queryset = Product.objects.none()  # the model for the schema; reads use selectors
    input_serializers = {"create": ProductInput, "partial_update": ProductInput}
    filter_backends: list[Any] = []

    @extend_schema(
        parameters=[ProductQuery], responses={200: ProductOutput(many=True), **errors(404)}
    )
    def list(self, request: Request) -> Response:
        return self.paginated(selectors.product_list(**_product_query(request)), ProductOutput)

    @extend_schema(responses={200: ProductOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        product = selectors.product_get(int_or_404(pk))
        return Response(ProductOutput(product, context=self.ctx()).data)

    @extend_schema(
        request=ProductInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: ProductOutput, **errors(400, 403, 413, 422)},
        description="Administrators only. The name is unique whatever the case.",
    )
    def create(self, request: Request) -> Response:
        data = valid(ProductInput, request)
        product = services.product_create(actor=request.user, name=data.pop("name", ""), **data)
        return Response(ProductOutput(product, context=self.ctx()).data, status=201)

    @extend_schema(
        request=ProductInput,
        responses={200: ProductOutput, **errors(400, 403, 404)},
        description="Administrators only. `is_active: false` takes it off the offer.",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        product = selectors.product_get(int_or_404(pk))
        data = valid(ProductInput, request, partial=True)
        product = services.product_update(product_id=product.pk, actor=request.user, **data)
        return Response(ProductOutput(product, context=self.ctx()).data)

    @extend_schema(
        responses={204: None, **errors(403, 404, 409)},
        description="Administrators only; refused (409 `product_in_use`) while deals use the "
        "product — deactivate it instead.",
    )
    def destroy(self, request: Request, pk: str) -> Response:
        product = selectors.product_get(int_or_404(pk))
        services.product_delete(product_id=product.pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- CSV exports in the import's columns (pipeline/columns.py) ---------------------------

_CSV_TEXT = (
    "A CSV file (UTF-8 with a byte-order mark) in the import's columns, streamed: "
    "export → import into an empty database gives the same records."
)


def _csv_ok(what: str) -> dict[Any, OpenApiResponse]:
    return {
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description=f"{what}. {_CSV_TEXT}")
    }


@extend_schema(tags=["opportunities"])
class OpportunityExportViewSet(CsvExportViewSet):
    queryset = Opportunity.objects.none()  # the model for the schema; reads use selectors
    filterset_class = OpportunityFilter

    @extend_schema(
        operation_id="opportunities_export_csv",
        responses={
            **_csv_ok("The opportunities you may see that match the filters"),
            **errors(404),
        },
        description="The opportunities of the list with the same filters, every one of them "
        "(no pages), in the columns of pipeline/columns.py OPPORTUNITY_COLUMNS.",
    )
    def list(self, request: Request) -> Any:
        opportunities = self.filter_queryset(selectors.opportunity_list_for(request.user))
        return exports.opportunity_export(opportunities)


@extend_schema(tags=["accounts"])
class AccountExportViewSet(CsvExportViewSet):
    queryset = Account.objects.none()  # the model for the schema; reads use selectors
    filter_backends: list[Any] = []

    @extend_schema(
        operation_id="accounts_export_csv",
        parameters=[OpenApiParameter("search", OpenApiTypes.STR, description="In the name.")],
        responses={**_csv_ok("The accounts (matching `search`)"), **errors(404)},
    )
    def list(self, request: Request) -> Any:
        search = request.query_params.get("search", "")
        return exports.account_export(selectors.account_list(search))


@extend_schema(tags=["products"])
class ProductExportViewSet(CsvExportViewSet):
    queryset = Product.objects.none()  # the model for the schema; reads use selectors
    filter_backends: list[Any] = []

    @extend_schema(
        operation_id="products_export_csv",
        parameters=[ProductQuery],
        responses={**_csv_ok("The products (matching the filters)"), **errors(404)},
    )
    def list(self, request: Request) -> Any:
        return exports.product_export(selectors.product_list(**_product_query(request)))


# --- pipeline framework: everyone reads, administrators and sales leaders write -------


class FrameworkViewSet(ApiViewSet):
    permission_classes = [ApiKeyScopePermission, ConfiguresSalesProcessOrReadOnly]


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


# --- qualification frameworks: everyone reads, administrators and sales leaders write --


@extend_schema(tags=["qualification"])
class QualificationFrameworkViewSet(FrameworkViewSet):
    queryset = QualificationFramework.objects.none()  # for the schema; reads use selectors
    input_serializers = {
        "create": QualificationFrameworkInput,
        "partial_update": QualificationFrameworkInput,
    }
    filter_backends: list[Any] = []

    @extend_schema(responses={200: QualificationFrameworkOutput(many=True), **errors(404)})
    def list(self, request: Request) -> Response:
        frameworks = selectors.qualification_framework_list()
        return self.paginated(frameworks, QualificationFrameworkOutput)

    @extend_schema(responses={200: QualificationFrameworkOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        framework = get_or_404(selectors.qualification_framework_list(), pk)
        return Response(QualificationFrameworkOutput(framework, context=self.ctx()).data)

    @extend_schema(
        request=QualificationFrameworkInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: QualificationFrameworkOutput, **errors(400, 403, 422)},
        description="Administrators and sales leaders only. Add its elements at "
        "/api/v1/framework-elements/.",
    )
    def create(self, request: Request) -> Response:
        data = valid(QualificationFrameworkInput, request)
        framework = services.framework_create(actor=request.user, name=data.pop("name", ""), **data)
        framework = get_or_404(selectors.qualification_framework_list(), framework.pk)
        return Response(QualificationFrameworkOutput(framework, context=self.ctx()).data, 201)

    @extend_schema(
        request=QualificationFrameworkInput,
        responses={200: QualificationFrameworkOutput, **errors(400, 403, 404)},
        description="Administrators and sales leaders only.",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        framework = get_or_404(selectors.qualification_framework_list(), pk)
        data = valid(QualificationFrameworkInput, request, partial=True)
        services.framework_update(framework_id=framework.pk, actor=request.user, **data)
        framework = get_or_404(selectors.qualification_framework_list(), pk)
        return Response(QualificationFrameworkOutput(framework, context=self.ctx()).data)


@extend_schema(tags=["qualification"])
class FrameworkElementViewSet(FrameworkViewSet):
    queryset = QualificationElement.objects.none()  # for the schema; reads use selectors
    input_serializers = {
        "create": FrameworkElementCreateInput,
        "partial_update": FrameworkElementUpdateInput,
    }
    filterset_class = FrameworkElementFilter

    @extend_schema(responses={200: FrameworkElementOutput(many=True), **errors(404)})
    def list(self, request: Request) -> Response:
        elements = self.filter_queryset(selectors.qualification_element_list())
        return self.paginated(elements, FrameworkElementOutput)

    @extend_schema(responses={200: FrameworkElementOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        element = get_or_404(selectors.qualification_element_list(), pk)
        return Response(FrameworkElementOutput(element).data)

    @extend_schema(
        request=FrameworkElementCreateInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: FrameworkElementOutput, **errors(400, 403, 422)},
        description="Administrators and sales leaders only. Without `order` the element goes last.",
    )
    def create(self, request: Request) -> Response:
        data = valid(FrameworkElementCreateInput, request)
        element = services.element_create(
            actor=request.user, framework=data.pop("framework"), name=data.pop("name", ""),
            **data,
        )  # fmt: skip
        return Response(FrameworkElementOutput(element).data, status=201)

    @extend_schema(
        request=FrameworkElementUpdateInput,
        responses={200: FrameworkElementOutput, **errors(400, 403, 404)},
        description="Administrators and sales leaders only.",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        element = get_or_404(selectors.qualification_element_list(), pk)
        data = valid(FrameworkElementUpdateInput, request)
        element = services.element_update(element_id=element.pk, actor=request.user, **data)
        return Response(FrameworkElementOutput(element).data)

    @extend_schema(
        responses={204: None, **errors(403, 404, 409)},
        description="Administrators and sales leaders only. Refused (409 `element_in_use`) "
        "once qualifications scored the element or a milestone requires a level of it.",
    )
    def destroy(self, request: Request, pk: str) -> Response:
        element = get_or_404(selectors.qualification_element_list(), pk)
        services.element_delete(element_id=element.pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
