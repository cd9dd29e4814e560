"""The milestones of one opportunity (/api/v1/opportunities/{id}/milestones/): each
milestone of its pipeline with whether it is met, and the tick (completion) of one.
The milestones themselves are set up in `setup`."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from pipeline import selectors
from pipeline.api.common import StageRefOutput, UserRefOutput
from pipeline.models import MilestoneCompleter, MilestoneCompletion, MilestoneKind
from salesops.api.serializers import StrictInputSerializer


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


class MilestoneCompleteInput(StrictInputSerializer):
    evidence = serializers.CharField(required=False, allow_blank=True)
