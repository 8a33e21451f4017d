"""URLs as in DESIGN §1: every registered flow under /flows/."""

from django.urls import include, path

from viewflow.site import viewsite

urlpatterns = [path("flows/", include(viewsite.urls))]
