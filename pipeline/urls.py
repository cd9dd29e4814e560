from django.urls import path

from pipeline import attention_views, catalogue_views, framework_views, setup_views, views

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
    path(
        "opportunities/<int:pk>/issues/<int:issue_id>/edit/",
        views.business_issue_edit,
        name="business_issue_edit",
    ),
    path(
        "opportunities/<int:pk>/issues/<int:issue_id>/delete/",
        views.business_issue_delete,
        name="business_issue_delete",
    ),
    path("opportunities/<int:pk>/activities/new/", views.activity_create, name="activity_create"),
    path("opportunities/<int:pk>/qualify/", views.opportunity_qualify, name="opportunity_qualify"),
    # --- needs attention: one card per flagged deal, quick actions (pipeline/attention_views.py)
    path("attention/", attention_views.attention, name="attention"),
    path(
        "attention/<int:pk>/activity/",
        attention_views.attention_activity,
        name="attention_activity",
    ),
    path(
        "attention/<int:pk>/next-step/",
        attention_views.attention_next_step,
        name="attention_next_step",
    ),
    # --- pipeline setup: administrators and sales leaders (pipeline/setup_views.py) ---
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
    # --- qualification frameworks: administrators and sales leaders (framework_views.py) ---
    path("setup/frameworks/", framework_views.framework_setup_list, name="framework_setup_list"),
    path(
        "setup/frameworks/<int:pk>/",
        framework_views.framework_setup_edit,
        name="framework_setup_edit",
    ),
    path(
        "setup/frameworks/<int:pk>/elements/new/",
        framework_views.element_setup_create,
        name="element_setup_create",
    ),
    path("setup/elements/<int:pk>/", framework_views.element_setup_edit, name="element_setup_edit"),
    path(
        "setup/elements/<int:pk>/delete/",
        framework_views.element_setup_delete,
        name="element_setup_delete",
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
