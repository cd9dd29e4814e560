from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "pipeline"

    def ready(self) -> None:
        # The audit trail (salesops) links the events about these to their pages.
        from salesops.audit import register_target_page

        register_target_page("pipeline.opportunity", "pipeline:opportunity_detail")
        register_target_page("pipeline.account", "pipeline:account_edit")
        register_target_page("pipeline.product", "pipeline:product_edit")
