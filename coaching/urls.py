from django.urls import path

from coaching import views

app_name = "coaching"

urlpatterns = [
    # --- coaching home (cadence and coverage) ---
    path("coaching/", views.coaching_home, name="home"),
    path("coaching/skills/", views.skill_framework, name="skills"),
    path("coaching/skills-matrix/", views.skills_matrix, name="matrix"),
    path("coaching/assessments/new/", views.assessment_create, name="assess"),
    # --- action items (shared by opportunity reviews and 1:1 sessions) ---
    path("coaching/action-items/<int:pk>/done/", views.action_item_done, name="action_item_done"),
    # --- opportunity reviews ---
    path("coaching/reviews/", views.review_list, name="review_list"),
    path("coaching/reviews/queue/", views.review_queue, name="review_queue"),
    path("opportunities/<int:pk>/review/", views.review_start, name="review_start"),
    path("coaching/reviews/<int:pk>/", views.review_detail, name="review_detail"),
    path("coaching/reviews/<int:pk>/agenda/", views.review_agenda_add, name="review_agenda_add"),
    path(
        "coaching/reviews/<int:pk>/agenda/<int:item_id>/discussed/",
        views.review_agenda_discussed,
        name="review_agenda_discussed",
    ),
    path(
        "coaching/reviews/<int:pk>/findings/", views.review_finding_add, name="review_finding_add"
    ),
    path(
        "coaching/reviews/<int:pk>/coaching-points/",
        views.review_point_add,
        name="review_point_add",
    ),
    path(
        "coaching/reviews/<int:pk>/action-items/", views.review_action_add, name="review_action_add"
    ),
    path("coaching/reviews/<int:pk>/complete/", views.review_complete, name="review_complete"),
    # --- 1:1 sessions ---
    path("coaching/sessions/", views.session_list, name="session_list"),
    path("coaching/sessions/new/", views.session_create, name="session_create"),
    path("coaching/sessions/<int:pk>/", views.session_detail, name="session_detail"),
    path("coaching/sessions/<int:pk>/edit/", views.session_edit, name="session_edit"),
    path(
        "coaching/sessions/<int:pk>/action-items/",
        views.session_action_item_add,
        name="session_action_item_add",
    ),
]
