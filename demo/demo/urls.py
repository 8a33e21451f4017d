from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from viewflow.site import viewsite

urlpatterns = [
    path("", RedirectView.as_view(url="/flows/", permanent=False)),
    path("admin/", admin.site.urls),
    path("flows/", include(viewsite.urls)),
]
