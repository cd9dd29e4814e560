from django.urls import path  # noqa: F401

from forecasting import views  # noqa: F401

app_name = "forecasting"

urlpatterns = [
    # --- leader dashboard ---
    # --- forecast pages and calls ---
    # --- forecast meetings ---
]
