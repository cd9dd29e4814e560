from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    """Data exchange with a company's CRM: CSV imports of people, accounts, products and
    opportunities (with their real dates), batches that can be undone."""

    name = "exchange"
    verbose_name = "Imports"
