"""Forms of the forecasting pages. They only shape input; the rules are in the services."""

from __future__ import annotations

from django import forms  # noqa: F401


# --- forecast pages and calls ---


# --- forecast meetings ---
