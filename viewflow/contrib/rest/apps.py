"""App config of the REST API: its system checks."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RestConfig(AppConfig):
    name = "viewflow.contrib.rest"
    label = "viewflow_rest"
    verbose_name = _("Workflow API")

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
