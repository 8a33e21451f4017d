"""App config: imports every installed app's ``flows.py`` and creates node permissions."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class ViewflowConfig(AppConfig):
    name = "viewflow"
    verbose_name = _("Workflow")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from .permissions import create_flow_permissions

        autodiscover_modules("flows")
        post_migrate.connect(create_flow_permissions, dispatch_uid="viewflow-create-permissions")
