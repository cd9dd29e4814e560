from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    """Data exchange with a company's CRM: CSV imports of people, accounts, products and
    opportunities (with their real dates), batches that can be undone."""

    name = "exchange"
    verbose_name = "Imports"

    def ready(self) -> None:
        # The audit trail (salesops) links the events about an import to its page.
        from salesops.audit import register_target_page

        register_target_page("exchange.importbatch", "exchange:batch_detail")
