"""Settings: ``VIEWFLOW = {...}`` in the project settings, read lazily with defaults."""

from __future__ import annotations

from django.conf import settings
from django.core.signals import setting_changed

__all__ = ["viewflow_settings"]

DEFAULTS = {
    # rows per page on every list of the site
    "PAGE_SIZE": 25,
    # the site's title in the navigation bar
    "SITE_TITLE": "Viewflow",
    # the REST API's authentication classes (dotted paths); None: REST_FRAMEWORK's DEFAULT_AUTHENTICATION_CLASSES
    "REST_AUTHENTICATION_CLASSES": None,
}


class Settings:
    """Attribute access to ``settings.VIEWFLOW`` with defaults; reloads under ``override_settings``."""

    def __init__(self):
        self._cache = {}

    def __getattr__(self, name):
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown viewflow setting {name!r}")
        if name not in self._cache:
            self._cache[name] = getattr(settings, "VIEWFLOW", {}).get(name, DEFAULTS[name])
        return self._cache[name]

    def reload(self, **kwargs):
        if kwargs.get("setting") in (None, "VIEWFLOW"):
            self._cache.clear()


viewflow_settings = Settings()
setting_changed.connect(viewflow_settings.reload)
