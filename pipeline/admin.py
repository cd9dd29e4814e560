from django.contrib import admin

from pipeline.models import Account, Milestone, Opportunity, OpportunityChange, Pipeline, Stage


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0


class MilestoneInline(admin.TabularInline):
    """Read-only: a stage's exit rules change only through pipeline.services (the setup
    pages, the API), which version them (StageRuleChange) for the insights experiments."""

    model = Milestone
    extra = 0
    fields = ("title", "kind", "required", "auto_check", "min_qualification_score", "order")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    inlines = [StageInline]


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ("name", "pipeline", "order", "probability", "forecast_category")
    inlines = [MilestoneInline]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    """Read-only: every change goes through pipeline.services so gates and history hold."""

    list_display = ("name", "account", "owner", "stage", "amount", "close_date", "status")
    list_select_related = ("account", "owner", "stage")
    search_fields = ("name", "account__name")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(OpportunityChange)
class OpportunityChangeAdmin(admin.ModelAdmin):
    list_display = (
        "changed_at",
        "opportunity",
        "field",
        "old_display",
        "new_display",
        "changed_by",
    )

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
