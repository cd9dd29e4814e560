from django.urls import path

from hiring import views

app_name = "hiring"

urlpatterns = [
    path("hiring/", views.home, name="home"),
    path("hiring/candidates/<int:pk>/", views.candidate_detail, name="candidate"),
    path("hiring/candidates/<int:pk>/move/", views.candidate_move, name="candidate_move"),
    path("hiring/candidates/<int:pk>/decision/", views.decision, name="decision"),
    path("hiring/interviews/<int:pk>/scorecard/", views.scorecard, name="scorecard"),
]
