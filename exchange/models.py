"""Import batches and the mappings saved per source — fields and constraints only.

The workflow (upload → confirm the mapping → preview → import → undo) lives in
exchange/services.py.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from exchange.rules import ImportKind

KIND_CHOICES = [(kind.value, kind.value.capitalize()) for kind in ImportKind]


class BatchStatus(models.TextChoices):
    DRAFT = "draft", "Mapping to confirm"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    DONE = "done", "Imported"
    FAILED = "failed", "Failed"
    UNDONE = "undone", "Undone"


class ImportBatch(models.Model):
    """One file brought in: who, when, the file, the mapping it was read with, what came of
    each row. The file itself is kept (in the database, so the web and the worker processes
    need no shared disk) until the batch is imported."""

    kind = models.CharField(max_length=16, choices=KIND_CHOICES)
    source = models.CharField(max_length=40, help_text="The system the rows come from.")
    file_name = models.CharField(max_length=255)
    file_size = models.PositiveIntegerField(default=0)
    content = models.BinaryField(default=b"", editable=False)
    encoding = models.CharField(max_length=20, default="utf-8")
    delimiter = models.CharField(max_length=1, default=",")
    header = ArrayField(models.CharField(max_length=200), default=list)
    row_count = models.PositiveIntegerField(default=0)
    # {file column: our field, "" to ignore it}
    mapping = models.JSONField(default=dict)
    # {"stage": {file value: stage id}, "owner": {file value: user id}, "status": …}
    value_maps = models.JSONField(default=dict)
    # date orders per column, the rules for blanks on open deals, unknown owners…
    options = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=BatchStatus.choices, default="draft")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="import_batches"
    )
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The last preview (exchange.services.Report as JSON): what the file's columns hold
    # (the values to map, dates to decide) and what an import would do, row by row.
    preview = models.JSONField(default=dict)
    # {"created": n, "updated": n, "unchanged": n, "moved": n, "rejected": n}
    counts = models.JSONField(default=dict)
    # [{"line": 214, "column": "Close Date", "field": "close_date", "message": "…"}, …]
    problems = models.JSONField(default=list)
    # The lines of the rows refused; the download of the rejected rows reads them again
    # from the kept file, with their problems.
    rejected_lines = ArrayField(models.PositiveIntegerField(), default=list)
    warnings = models.JSONField(default=list)
    # What the batch created, so that it can be undone: ids of its kind's records, and of
    # what they needed ({"accounts": [...], "products": [...], "users": [...]}).
    created_ids = ArrayField(models.BigIntegerField(), default=list)
    created_other = models.JSONField(default=dict)
    changed_existing = models.BooleanField(
        default=False, help_text="It updated or moved records that existed before it."
    )
    error = models.TextField(blank=True, default="")
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[kind.value for kind in ImportKind]),
                name="importbatch_kind_known",
            ),
            models.CheckConstraint(condition=~Q(source=""), name="importbatch_source_not_blank"),
        ]
        indexes = [models.Index(fields=["kind", "source", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} from {self.source}: {self.file_name}"


class ImportMapping(models.Model):
    """The mapping confirmed for a source's files of one kind, proposed the next time."""

    kind = models.CharField(max_length=16, choices=KIND_CHOICES)
    source = models.CharField(max_length=40)
    mapping = models.JSONField(default=dict)
    value_maps = models.JSONField(default=dict)
    options = models.JSONField(default=dict)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["kind", "source"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "source"], name="one_mapping_per_source"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} mapping of {self.source}"
