"""An opportunity's qualifications: the assessments (scores of the elements of its
pipeline's framework, with evidence) and the input of a new one. Frameworks and their
elements are set up in `frameworks`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from pipeline import rules, services
from pipeline.api.common import RefOutput, UserRefOutput, datetime_text, list_errors_by_element
from pipeline.models import EvidenceSource, Qualification, QualificationScore
from salesops.api.serializers import StrictInputSerializer
from salesops.api.viewsets import MAX_ID


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
        return datetime_text(self._valid_until(qualification))


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
        with list_errors_by_element(data, "scores"):
            return super().to_internal_value(data)
