from django.urls import path

from pipeline import catalogue_views, setup_views, views

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
    # --- pipeline setup: administrators (pipeline/setup_views.py) ---
    path("setup/pipelines/", setup_views.pipeline_setup_list, name="pipeline_setup_list"),
    path("setup/pipelines/<int:pk>/", setup_views.pipeline_setup_edit, name="pipeline_setup_edit"),
    path(
        "setup/pipelines/<int:pk>/stages/new/",
        setup_views.stage_setup_create,
        name="stage_setup_create",
    ),
    path("setup/stages/<int:pk>/", setup_views.stage_setup_edit, name="stage_setup_edit"),
    path("setup/stages/<int:pk>/move/", setup_views.stage_setup_move, name="stage_setup_move"),
    path(
        "setup/stages/<int:pk>/delete/", setup_views.stage_setup_delete, name="stage_setup_delete"
    ),
    path(
        "setup/stages/<int:pk>/milestones/new/",
        setup_views.milestone_setup_create,
        name="milestone_setup_create",
    ),
    path(
        "setup/milestones/<int:pk>/",
        setup_views.milestone_setup_edit,
        name="milestone_setup_edit",
    ),
    path(
        "setup/milestones/<int:pk>/delete/",
        setup_views.milestone_setup_delete,
        name="milestone_setup_delete",
    ),
    # --- accounts and products (pipeline/catalogue_views.py) ---
    path("accounts/", catalogue_views.account_list, name="account_list"),
    path("accounts/new/", catalogue_views.account_create, name="account_create"),
    path("accounts/<int:pk>/edit/", catalogue_views.account_edit, name="account_edit"),
    path("products/", catalogue_views.product_list, name="product_list"),
    path("products/new/", catalogue_views.product_create, name="product_create"),
    path("products/<int:pk>/edit/", catalogue_views.product_edit, name="product_edit"),
    path("products/<int:pk>/delete/", catalogue_views.product_delete, name="product_delete"),
]
