"""/api/v1/imports/: the same import as the pages and the command, for integrations.

POST   /imports/                 upload (multipart: kind, source, file) → the batch with
                                 the proposed mapping and its preview
GET    /imports/, /imports/{id}/ the batches (administrators and sales leaders)
PATCH  /imports/{id}/            mapping, value_maps, options of a draft
POST   /imports/{id}/preview/    read every row again, writing nothing → the report
POST   /imports/{id}/run/        import (202 when queued for the worker: poll the batch)
POST   /imports/{id}/undo/       delete what it created
GET    /imports/{id}/rejected.csv the refused rows with a `problem` column
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from exchange import selectors, services
from exchange.models import BatchStatus, ImportBatch
from exchange.rules import ImportKind
from salesops.api.parsers import JSONParser
from salesops.api.schema import IDEMPOTENCY_KEY, errors
from salesops.api.viewsets import ApiViewSet, CsvExportViewSet, int_or_404, valid
from salesops.exceptions import PermissionDenied, ValidationFailed


class ImportUploadInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[k.value for k in ImportKind])
    source = serializers.CharField(max_length=40)
    file = serializers.FileField(help_text="The CSV file (with a header row).")


class ImportConfigureInput(serializers.Serializer):
    mapping = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text="{file column: field, or '' to ignore it}",
    )
    value_maps = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField(allow_null=True)),
        required=False,
        help_text='{"stage": {file value: stage id}, "owner": {file value: user id}}',
    )
    options = serializers.DictField(
        required=False,
        help_text="pipeline_id, date_orders {field: mdy|dmy}, decimal_comma, blank_close_date "
        "(quarter_end|reject), blank_account (unknown|reject), blank_amount (zero|reject), "
        "blank_owner (importer|reject), create_unknown_owners, invite",
    )


class ImportBatchOutput(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username")
    progress = serializers.SerializerMethodField()
    report = serializers.SerializerMethodField(
        help_text="The last preview (counts, first rows, values found, dates to decide)."
    )

    class Meta:
        model = ImportBatch
        fields = [
            "id", "kind", "source", "file_name", "file_size", "row_count", "header",
            "mapping", "value_maps", "options", "status", "counts", "problems", "warnings",
            "error", "progress", "report", "created_by", "created_at", "started_at",
            "finished_at", "undone_at",
        ]  # fmt: skip

    def get_progress(self, batch: ImportBatch) -> dict[str, int]:
        return services.batch_progress(batch)

    def get_report(self, batch: ImportBatch) -> dict[str, Any]:
        return batch.preview if batch.status == BatchStatus.DRAFT else {}


class ImportBatchListOutput(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username")

    class Meta:
        model = ImportBatch
        fields = ["id", "kind", "source", "file_name", "row_count", "status", "counts",
                  "created_by", "created_at", "finished_at"]  # fmt: skip


class ImportReportOutput(serializers.Serializer):
    counts = serializers.DictField(child=serializers.IntegerField())
    problems = serializers.ListField(child=serializers.DictField())
    warnings = serializers.ListField(child=serializers.DictField())
    sample = serializers.ListField(child=serializers.DictField())
    new_accounts = serializers.IntegerField()
    new_products = serializers.ListField(child=serializers.CharField())
    unknown_owners = serializers.DictField(child=serializers.IntegerField())
    unmapped_stages = serializers.DictField(child=serializers.IntegerField())
    stage_matches = serializers.DictField(
        child=serializers.IntegerField(allow_null=True),
        help_text="Where each stage value of the file lands (a stage id; null: not mapped).",
    )
    stage_values = serializers.DictField(child=serializers.IntegerField())
    owner_values = serializers.DictField(child=serializers.IntegerField())
    date_questions = serializers.DictField()
    decimal_comma = serializers.BooleanField()


def _importer(request: Request) -> None:
    if not selectors.may_import(request.user):
        raise PermissionDenied("Imports are for administrators and sales leaders.")


class ImportBatchViewSet(ApiViewSet):
    queryset = ImportBatch.objects.none()  # for the schema; reads use selectors
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    input_serializers = {"create": ImportUploadInput, "partial_update": ImportConfigureInput}

    def _batch(self, request: Request, pk: str) -> ImportBatch:
        _importer(request)
        return selectors.batch_get_for(request.user, int_or_404(pk))

    @extend_schema(responses={200: ImportBatchListOutput(many=True), **errors(403, 404)})
    def list(self, request: Request) -> Response:
        _importer(request)
        return self.paginated(selectors.batch_list_for(request.user), ImportBatchListOutput)

    @extend_schema(
        request={"multipart/form-data": ImportUploadInput},
        parameters=[IDEMPOTENCY_KEY],
        responses={201: ImportBatchOutput, **errors(403, 413, 422)},
        description="Keeps the file, proposes the mapping (the source's saved one, else from "
        "the header) and previews it; nothing is imported until `run`.",
    )
    def create(self, request: Request) -> Response:
        _importer(request)
        data = valid(ImportUploadInput, request)
        upload = data["file"]
        batch = services.batch_upload(
            actor=request.user,
            kind=data["kind"],
            source=data["source"],
            file_name=upload.name,
            content=upload.read(),
        )
        # Read it at once; with a mapping that is not complete yet, PATCH it, then preview.
        with contextlib.suppress(ValidationFailed):
            services.batch_preview(actor=request.user, batch_id=batch.pk)
        batch.refresh_from_db()
        return Response(ImportBatchOutput(batch, context=self.ctx()).data, status=201)

    @extend_schema(responses={200: ImportBatchOutput, **errors(403, 404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(ImportBatchOutput(self._batch(request, pk), context=self.ctx()).data)

    @extend_schema(
        request=ImportConfigureInput, responses={200: ImportBatchOutput, **errors(403, 404, 409)}
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        batch = self._batch(request, pk)
        data = valid(ImportConfigureInput, request)
        batch = services.batch_configure(actor=request.user, batch_id=batch.pk, **data)
        return Response(ImportBatchOutput(batch, context=self.ctx()).data)

    @extend_schema(request=None, responses={200: ImportReportOutput, **errors(403, 404)})
    @action(detail=True, methods=["post"])
    def preview(self, request: Request, pk: str) -> Response:
        batch = self._batch(request, pk)
        report = services.batch_preview(actor=request.user, batch_id=batch.pk)
        return Response(services.report_json(report))

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: ImportBatchOutput, 202: ImportBatchOutput, **errors(403, 404, 409)},
        description="Imports at once (200), or queues files of 10,000 rows or more for the "
        "worker (202: poll the batch's `status` and `progress`).",
    )
    @action(detail=True, methods=["post"])
    def run(self, request: Request, pk: str) -> Response:
        batch = self._batch(request, pk)
        batch = services.batch_start(actor=request.user, batch_id=batch.pk)
        code = status.HTTP_202_ACCEPTED if batch.status == BatchStatus.QUEUED else 200
        return Response(ImportBatchOutput(batch, context=self.ctx()).data, status=code)

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: ImportBatchOutput, **errors(403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def undo(self, request: Request, pk: str) -> Response:
        batch = self._batch(request, pk)
        batch = services.batch_undo(actor=request.user, batch_id=batch.pk)
        return Response(ImportBatchOutput(batch, context=self.ctx()).data)


class ImportRejectedViewSet(CsvExportViewSet):
    """GET /imports/{id}/rejected.csv"""

    @extend_schema(
        responses={(200, "text/csv"): str, **errors(403, 404)},
        description="The refused rows as the file had them, with a last `problem` column.",
    )
    def list(self, request: Request, pk: str) -> StreamingHttpResponse:
        _importer(request)
        return services.rejected_rows_download(
            selectors.batch_get_for(request.user, int_or_404(pk))
        )
