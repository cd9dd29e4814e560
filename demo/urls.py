from django.urls import path

from demo import views

app_name = "demo"

urlpatterns = [path("setup/demo/remove/", views.remove, name="remove")]
