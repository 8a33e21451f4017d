from django.contrib import admin
from django.urls import include, path

from viewflow.site import viewsite

urlpatterns = [
    path("admin/", admin.site.urls),
    path("flows/", include(viewsite.urls)),
    path("api/", include("viewflow.contrib.rest.urls")),
]
