from django.urls import path

from insights import views

app_name = "insights"

urlpatterns = [
    path("insights/", views.home, name="home"),
    path("insights/suggestions/<int:pk>/accept/", views.suggestion_accept, name="accept"),
    path("insights/suggestions/<int:pk>/dismiss/", views.suggestion_dismiss, name="dismiss"),
]
