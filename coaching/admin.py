"""Admin: the skills framework is configuration that administrators edit here.

Assessments are not registered: who may assess whom lives in coaching/services/, and an
admin form would go around it."""

from django.contrib import admin

from coaching.models import Skill


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "is_active")
    list_editable = ("order", "is_active")
    ordering = ("order", "id")
    fieldsets = (
        (None, {"fields": ("name", "order", "is_active", "description")}),
        ("Levels", {"fields": ("level_1", "level_2", "level_3", "level_4", "level_5")}),
        (
            "Coaching guide (one point per line)",
            {"fields": ("questions", "good_looks_like", "common_mistakes")},
        ),
    )
