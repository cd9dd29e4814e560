from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from salesops.forms import AdminLoginForm
from salesops.models import ApiKey, AuditEvent, TaskOutbox, Team, User

# The admin's sign-in obeys the same failed sign-in limits as the sign-in page.
admin.site.login_form = AdminLoginForm


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]  # set on UserAdmin; Optional on ModelAdmin
        ("Salesops", {"fields": ("role", "team", "started_on", "is_recruiter")}),
    )
    list_display = ("username", "email", "role", "team", "is_active")
    list_filter = ("role", "team", "is_active")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "manager", "parent")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "scopes", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("hashed_key", "prefix", "created_at", "last_used_at")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor", "action", "target_type", "target_id", "channel")
    list_filter = ("channel", "action")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TaskOutbox)
class TaskOutboxAdmin(admin.ModelAdmin):
    """What waits for the broker (after a Redis outage) and what went lately: read only —
    the drain sends, nobody edits."""

    list_display = ("created_at", "task_name", "sent_at", "attempts", "last_error")
    list_filter = ("task_name",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
