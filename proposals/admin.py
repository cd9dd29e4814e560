"""Admin: the reviewer checklist is configuration that administrators edit here.

Proposals themselves are not registered: their workflow (review, freezing when sent)
lives in proposals/services.py, and an admin form would go around it."""

from django.contrib import admin

from proposals.models import ReviewChecklistItem


@admin.register(ReviewChecklistItem)
class ReviewChecklistItemAdmin(admin.ModelAdmin):
    list_display = ("text", "order", "is_active")
    list_editable = ("order", "is_active")
    ordering = ("order", "id")
