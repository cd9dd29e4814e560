from django.urls import path

from forecasting import quota_views, views

app_name = "forecasting"

urlpatterns = [
    # --- leader dashboard ---
    path("forecast/dashboard/", views.dashboard, name="dashboard"),
    path("forecast/deals/", views.deals, name="deals"),
    # --- forecast pages and calls ---
    path("forecast/", views.forecast_home, name="home"),
    path("forecast/calls/", views.forecast_call_submit, name="submit"),
    # --- forecast meetings ---
    path("forecast/meetings/", views.meeting_list, name="meeting_list"),
    path("forecast/meetings/new/", views.meeting_create, name="meeting_create"),
    path("forecast/meetings/<int:pk>/", views.meeting_detail, name="meeting_detail"),
    path("forecast/meetings/<int:pk>/edit/", views.meeting_edit, name="meeting_edit"),
    # --- quotas (forecasting/quota_views.py) ---
    path("forecast/quotas/", quota_views.quota_list, name="quota_list"),
]
