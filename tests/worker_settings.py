"""Settings of the Celery worker processes started by the tests: the test database.

pytest-django creates the test database; the test process passes its name in
``VIEWFLOW_WORKER_DB_NAME`` so the worker reads and writes the same rows.
"""

import os

from .settings import *  # noqa: F403
from .settings import DATABASES

if os.environ.get("VIEWFLOW_WORKER_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["VIEWFLOW_WORKER_DB_NAME"]
