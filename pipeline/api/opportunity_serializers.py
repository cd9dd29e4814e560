"""The opportunity's serializers: its output (built directly from list rows, for
speed), its history, the create/update/upsert and move inputs, the 409 of a move that asks
about a forecast category set by hand, and the list's (and CSV export's) filters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import django_filters
from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema_field
from rest_framework import serializers

from pipeline import rules, selectors
from pipeline.api.common import (
    SET_AT_CREATION,
    AccountRefOutput,
    ProductRefOutput,
    StageRefOutput,
    TextFilter,
    UserRefOutput,
    datetime_text,
)
from pipeline.models import (
    ForecastCategory,
    Opportunity,
    OpportunityChange,
    OpportunityFlag,
    OpportunityStatus,
    Pipeline,
    Product,
)
from salesops.api.serializers import ErrorOutput, StrictInputSerializer
from salesops.api.viewsets import IdFilter
from salesops.models import User

# --- output serializers (no per-row queries: they read what the selectors joined) ---


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
            "stage_entered_at": datetime_text(row["stage_entered_at"], tz),
            "last_activity_at": datetime_text(row["last_activity_at"], tz),
            "closed_at": datetime_text(row["closed_at"], tz),
            "version": row["version"],
            "created_at": datetime_text(row["created_at"], tz),
            "updated_at": datetime_text(row["updated_at"], tz),
            "url": f"{detail_prefix}{row['id']}/",
            "open_flags": [
                {
                    "kind": flag["kind"],
                    "severity": flag["severity"],
                    "explanation": flag["explanation"],
                    "raised_at": datetime_text(flag["raised_at"], tz),
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
        for flag in opp.open_flags  # type: ignore[attr-defined]  # with_attention's Prefetch(to_attr=)
    ]
    return row


def _decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _date_text(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


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
        "assessed_at": datetime_text(assessed_at, tz),
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
        "pipeline": SET_AT_CREATION,
        "source": SET_AT_CREATION,
        "external_id": SET_AT_CREATION,
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


# --- filters -----------------------------------------------------------------------


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
