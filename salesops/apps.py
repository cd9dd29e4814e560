from django.apps import AppConfig


class SalesopsConfig(AppConfig):
    name = "salesops"
    verbose_name = "Salesops"
