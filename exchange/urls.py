from django.urls import path

from exchange import views

app_name = "exchange"

urlpatterns = [
    path("imports/", views.batch_list, name="batch_list"),
    path("imports/<int:pk>/", views.batch_detail, name="batch_detail"),
    path("imports/<int:pk>/configure/", views.batch_configure, name="batch_configure"),
    path("imports/<int:pk>/progress/", views.batch_progress, name="batch_progress"),
    path("imports/<int:pk>/undo/", views.batch_undo, name="batch_undo"),
    path("imports/<int:pk>/rejected.csv", views.batch_rejected_csv, name="batch_rejected_csv"),
]
