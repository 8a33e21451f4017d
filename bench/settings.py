"""Settings of the benchmark project: what a user of DESIGN §1 has, plus the bench flows.

The database comes from the environment, as in the peer harness:

* ``BENCH_DB=sqlite`` (default): a SQLite file at ``BENCH_SQLITE_PATH``, opened
  with ``transaction_mode=IMMEDIATE`` (the setting the demo and ``viewflow.lock``
  recommend: the write lock is taken by ``BEGIN``, so steps serialise without an
  extra statement).
* ``BENCH_DB=postgres``: the server of ``DATABASE_URL``; every table lives in the
  schema ``BENCH_PG_SCHEMA`` (default ``viewflow_bench``), which the harness drops
  and recreates before each scenario.

Stock middleware (database sessions, CSRF, auth, messages), DEBUG off.
"""

import os
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "demo") not in sys.path:
    sys.path.insert(0, str(ROOT / "demo"))  # the §1 hello world app, as shipped

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "viewflow",
    "viewflow.contrib.rest",  # the REST API's inbox page is timed beside the site's
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "helloworld",
    "bench.benchflows",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "bench.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database():
    kind = os.environ.get("BENCH_DB", "sqlite")
    if kind == "sqlite":
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("BENCH_SQLITE_PATH", str(ROOT / "bench.sqlite3")),
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
        }
    if kind == "postgres":
        url = urlsplit(os.environ["DATABASE_URL"])
        schema = os.environ.get("BENCH_PG_SCHEMA", "viewflow_bench")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(url.path.lstrip("/")),
            "USER": unquote(url.username or ""),
            "PASSWORD": unquote(url.password or ""),
            "HOST": url.hostname or "",
            "PORT": str(url.port or ""),
            "OPTIONS": {"options": f"-c search_path={schema}"},
        }
    raise RuntimeError(f"unknown BENCH_DB={kind!r}")


DATABASES = {"default": _database()}
# concurrent_join's cache_lock variant: threads of one process share this cache
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
LOGIN_URL = "/flows/login/"
# no broker: the §1 Job runs in-process right after its step commits (DESIGN §5)
CELERY_BROKER_URL = None
