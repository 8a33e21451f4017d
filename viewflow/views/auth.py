"""Login and logout pages for projects that have none of their own."""

from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy

from .mixins import ALLOWED_METHODS, with_page_context

__all__ = ["LoginView", "LogoutView"]


class LoginView(auth_views.LoginView):
    template_name = "viewflow/login.html"
    http_method_names = [method.lower() for method in ALLOWED_METHODS]  # Django's would take a PUT as a POST
    next_page = reverse_lazy("viewflow:index")

    def get_default_redirect_url(self):
        return str(self.next_page)

    def get_context_data(self, **kwargs):
        return with_page_context(super().get_context_data(**kwargs), self.request)


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("viewflow:login")
