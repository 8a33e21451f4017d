"""Settings of the pytest runs that tests/test_flow_coverage.py starts: an in-memory SQLite of their own.

They run beside the suite that starts them, whose test database they must not touch.
"""

from tests.settings import *  # noqa: F403

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
