from django.urls import path

from pipeline import views

app_name = "pipeline"

urlpatterns = [
    path("", views.board, name="board"),
    path("opportunities/", views.opportunity_list, name="opportunity_list"),
    path("opportunities/new/", views.opportunity_create, name="opportunity_create"),
    path("opportunities/<int:pk>/", views.opportunity_detail, name="opportunity_detail"),
    path("opportunities/<int:pk>/edit/", views.opportunity_edit, name="opportunity_edit"),
    path("opportunities/<int:pk>/advance/", views.opportunity_advance, name="opportunity_advance"),
    path(
        "opportunities/<int:pk>/close-won/",
        views.opportunity_close_won,
        name="opportunity_close_won",
    ),
    path(
        "opportunities/<int:pk>/close-lost/",
        views.opportunity_close_lost,
        name="opportunity_close_lost",
    ),
    path("opportunities/<int:pk>/milestones/", views.milestones_panel, name="milestones_panel"),
    path(
        "opportunities/<int:pk>/milestones/<int:milestone_id>/toggle/",
        views.milestone_toggle,
        name="milestone_toggle",
    ),
    path(
        "opportunities/<int:pk>/issues/new/",
        views.business_issue_create,
        name="business_issue_create",
    ),
    path("opportunities/<int:pk>/activities/new/", views.activity_create, name="activity_create"),
    path("opportunities/<int:pk>/qualify/", views.opportunity_qualify, name="opportunity_qualify"),
    path("attention/", views.attention, name="attention"),
]
