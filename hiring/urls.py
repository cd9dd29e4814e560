from django.urls import path

from hiring import views

app_name = "hiring"

urlpatterns = [
    path("hiring/", views.home, name="home"),
    path("hiring/templates/", views.template_list, name="templates"),
    path("hiring/templates/<int:pk>/", views.template_detail, name="template"),
    path("hiring/attributes/<int:pk>/remove/", views.attribute_remove, name="attribute_remove"),
    path(
        "hiring/onboarding-templates/",
        views.onboarding_template_list,
        name="onboarding_templates",
    ),
    path(
        "hiring/onboarding-templates/<int:pk>/",
        views.onboarding_template_detail,
        name="onboarding_template",
    ),
    path(
        "hiring/onboarding-templates/<int:pk>/delete/",
        views.onboarding_template_delete,
        name="onboarding_template_delete",
    ),
    path(
        "hiring/onboarding-templates/<int:pk>/tasks/",
        views.onboarding_template_task_add,
        name="onboarding_template_task_add",
    ),
    path(
        "hiring/onboarding-templates/tasks/<int:pk>/",
        views.onboarding_template_task_update,
        name="onboarding_template_task",
    ),
    path(
        "hiring/onboarding-templates/tasks/<int:pk>/remove/",
        views.onboarding_template_task_remove,
        name="onboarding_template_task_remove",
    ),
    path("hiring/positions/new/", views.position_new, name="position_new"),
    path("hiring/positions/<int:pk>/", views.position_detail, name="position"),
    path("hiring/candidates/<int:pk>/interviews/", views.interview_new, name="interview_new"),
    path("hiring/candidates/<int:pk>/", views.candidate_detail, name="candidate"),
    path("hiring/candidates/<int:pk>/move/", views.candidate_move, name="candidate_move"),
    path("hiring/candidates/<int:pk>/decision/", views.decision, name="decision"),
    path("hiring/candidates/<int:pk>/hire/", views.hire, name="hire"),
    path("hiring/candidates/<int:pk>/export/", views.candidate_export, name="export"),
    path("hiring/candidates/<int:pk>/erase/", views.candidate_erase, name="erase"),
    path("hiring/interviews/<int:pk>/scorecard/", views.scorecard, name="scorecard"),
    path("hiring/onboarding/<int:rep_id>/", views.onboarding, name="onboarding"),
    path("hiring/ramp/", views.ramp, name="ramp"),
    path("hiring/onboarding/tasks/<int:pk>/done/", views.onboarding_task_done, name="task_done"),
]
