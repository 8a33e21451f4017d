"""Login and logout pages for projects that have none of their own."""

from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy

from .mixins import page_context

__all__ = ["LoginView", "LogoutView"]


class LoginView(auth_views.LoginView):
    template_name = "viewflow/login.html"
    next_page = reverse_lazy("viewflow:index")

    def get_default_redirect_url(self):
        return str(self.next_page)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        for name, value in page_context(self.request).items():
            context.setdefault(name, value)
        return context


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("viewflow:login")
