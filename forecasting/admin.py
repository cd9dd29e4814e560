"""Admin: weekly pipeline snapshots, read-only (they are history, written only by
forecasting.services.pipeline_snapshot_take)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from forecasting.models import ForecastMeeting, ForecastSubmission, PipelineSnapshot


@admin.register(PipelineSnapshot)
class PipelineSnapshotAdmin(admin.ModelAdmin):
    list_display = (
        "week",
        "opportunity",
        "owner",
        "team",
        "stage",
        "forecast_category",
        "amount",
        "currency",
        "close_date",
    )
    list_filter = ("week", "forecast_category")
    list_select_related = ("opportunity", "owner", "team", "stage")
    search_fields = ("opportunity__name",)
    # Millions of rows: no COUNT(*) of the whole table on every page.
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# --- submissions ---


@admin.register(ForecastSubmission)
class ForecastSubmissionAdmin(admin.ModelAdmin):
    """Read-only: submissions are immutable (a database trigger refuses updates and
    deletes) and written only by forecasting.services.forecast_submit."""

    list_display = (
        "submitted_at", "submitter", "level", "team", "period_kind", "period_start",
        "commit", "best_case", "currency",
    )  # fmt: skip
    list_filter = ("level", "period_kind", "period_start")
    list_select_related = ("submitter", "team")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# --- forecast meetings ---


@admin.register(ForecastMeeting)
class ForecastMeetingAdmin(admin.ModelAdmin):
    """Recorded only through forecasting.services.meeting_create (the numbers are frozen
    there) and read-only here; deleting one (a meeting recorded by mistake) is the one
    thing only the admin can do — the app has no delete."""

    list_display = ("held_on", "team", "period_kind", "period_start", "created_by", "version")
    list_filter = ("period_kind", "period_start")
    list_select_related = ("team", "created_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
