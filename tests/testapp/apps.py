from django.apps import AppConfig


class TestappConfig(AppConfig):
    name = "tests.testapp"
    label = "testapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # viewflow imports each app's flows.py; the integrity flows live beside it
        from . import integrity_flows, subprocess_flows  # noqa: F401
