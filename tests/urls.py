from django.contrib import admin
from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token

from viewflow.site import viewsite

urlpatterns = [
    path("admin/", admin.site.urls),
    path("flows/", include(viewsite.urls)),
    path("api/token/", obtain_auth_token),
    path("api/", include("viewflow.contrib.rest.urls")),
]
