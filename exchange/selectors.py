"""Reads of the import: batches, the sources seen, and what a mapping can choose from."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from exchange.models import ImportBatch, ImportMapping
from exchange.rules import ImportKind
from pipeline import lookups
from salesops.cleaning import query_int
from salesops.models import User


def may_import(user: User) -> bool:
    """Admins and sales leaders (people: admins only, decided by the services)."""
    return user.is_authenticated and user.sees_everything


def batch_list_for(user: User) -> QuerySet[ImportBatch]:
    """The batches, newest first, without their files; an importer sees every batch (they
    are the company's), anyone else none."""
    if not may_import(user):
        return ImportBatch.objects.none()
    return (
        ImportBatch.objects.defer("content", "preview", "problems", "rejected_lines",
                                  "created_ids", "created_other", "warnings")
        .select_related("created_by")
        .order_by("-created_at", "-id")
    )  # fmt: skip


def batch_get_for(user: User, pk: Any) -> ImportBatch:
    """One batch; outside the user's scope (or not an id) it does not exist (404)."""
    return get_object_or_404(batch_list_for(user).defer(None), pk=query_int(pk) or 0)


def known_sources() -> list[str]:
    """The sources imported from before (for the upload form's suggestions)."""
    return sorted(
        set(ImportMapping.objects.values_list("source", flat=True))
        | set(ImportBatch.objects.values_list("source", flat=True).distinct()[:50]),
        key=str.casefold,
    )


def mapping_choices(batch: ImportBatch) -> dict[str, list[tuple[int, str]]]:
    """What the mapping page offers: the stages of the import's pipeline, the people (for
    owners), the active pipelines."""
    if batch.kind != ImportKind.OPPORTUNITIES:
        return {"stages": [], "people": [], "pipelines": []}
    pipeline = lookups.import_pipeline(batch.options.get("pipeline_id"))
    stages = lookups.stages_of(pipeline.pk) if pipeline else []
    people = User.objects.order_by("first_name", "last_name", "username").only(
        "id", "first_name", "last_name", "username", "email", "is_active"
    )
    return {
        "stages": [(s.pk, s.name) for s in stages],
        "people": [
            (u.pk, f"{u} ({u.email or u.username}){'' if u.is_active else ' — inactive'}")
            for u in people
        ],
        "pipelines": [(p.pk, p.name) for p in lookups.active_pipelines()],
    }
