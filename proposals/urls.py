from django.urls import path

from proposals import views

app_name = "proposals"

urlpatterns = [
    path("proposals/", views.proposal_list, name="list"),
    path("proposals/review/", views.review_queue, name="review_queue"),
    path("proposals/check-summary/", views.check_summary, name="check_summary"),
    path("opportunities/<int:pk>/proposals/new/", views.proposal_create, name="create"),
    path("proposals/<int:pk>/", views.proposal_detail, name="detail"),
    path("proposals/<int:pk>/edit/", views.proposal_edit, name="edit"),
    path("proposals/<int:pk>/print/", views.proposal_print, name="print"),
    path("proposals/<int:pk>/submit/", views.proposal_submit, name="submit"),
    path("proposals/<int:pk>/approve/", views.proposal_approve, name="approve"),
    path(
        "proposals/<int:pk>/request-changes/",
        views.proposal_request_changes,
        name="request_changes",
    ),
    path("proposals/<int:pk>/mark-sent/", views.proposal_mark_sent, name="mark_sent"),
    path("proposals/<int:pk>/new-version/", views.proposal_new_version, name="new_version"),
    path("proposals/<int:pk>/comments/", views.proposal_comment, name="comment"),
    path("proposals/<int:pk>/delete/", views.proposal_delete, name="delete"),
]
