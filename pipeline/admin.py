from django.contrib import admin

from pipeline.models import Account, Milestone, Opportunity, OpportunityChange, Pipeline, Stage


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0


class MilestoneInline(admin.TabularInline):
    model = Milestone
    extra = 0


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
