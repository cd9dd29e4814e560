from django.urls import path

from coaching import views

app_name = "coaching"

urlpatterns = [
    path("coaching/skills/", views.skill_framework, name="skills"),
    path("coaching/skills-matrix/", views.skills_matrix, name="matrix"),
    path("coaching/assessments/new/", views.assessment_create, name="assess"),
]
