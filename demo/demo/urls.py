from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from rest_framework.authtoken.views import obtain_auth_token

from viewflow.site import viewsite

urlpatterns = [
    path("", RedirectView.as_view(url="/flows/", permanent=False)),
    path("admin/", admin.site.urls),
    path("flows/", include(viewsite.urls)),
    path("api/token/", obtain_auth_token),  # POST username and password: {"token": "..."}
    path("api/", include("viewflow.contrib.rest.urls")),  # the REST API; Swagger UI at /api/docs/
]
