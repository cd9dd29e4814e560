from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("pipeline.urls")),
    path("", include("proposals.urls")),
    path("", include("coaching.urls")),
    path("", include("forecasting.urls")),
    path("", include("hiring.urls")),
    path("", include("insights.urls")),
    path("", include("exchange.urls")),
    path("", include("demo.urls")),
    path("", include("salesops.page_urls")),
    path("api/v1/", include("salesops.api.urls")),
    path("admin/", admin.site.urls),
]
