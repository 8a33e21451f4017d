"""Test settings: SQLite by default, PostgreSQL with VIEWFLOW_TEST_DB=postgres."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "demo"))  # the demo's apps are tested as shipped

SECRET_KEY = "tests"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "guardian",  # object permissions: the queue asks it which tasks' objects a user may claim
    "viewflow",
    "viewflow.contrib.rest",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "helloworld",
    "orders",
    "leave",
    "tests.testapp",
    "tests.docsapp",
    "tests.shipment",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "tests.testapp.backends.SampleObjectBackend",  # object permissions for .Permission(obj=...)
    "guardian.backends.ObjectPermissionBackend",  # django-guardian, a real object-permission backend
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row (tests count users)

ROOT_URLCONF = "tests.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

TEST_DB = os.environ.get("VIEWFLOW_TEST_DB", "sqlite")
if TEST_DB == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "test"),
            "USER": os.environ.get("PGUSER", "root"),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            # several checkouts may test at once: each can pick its own database
            "TEST": {"NAME": os.environ.get("VIEWFLOW_TEST_DB_NAME", "viewflow_test")},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": ":memory:",
            "TEST": {"NAME": str(ROOT / "test-output" / "test.sqlite3")},
            "OPTIONS": {"timeout": 20},
        }
    }

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
LOGIN_URL = "/accounts/login/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_BROKER_URL = None
#: Redis database index the Celery tests use (several checkouts may test at once)
REDIS_TEST_URL = f"redis://127.0.0.1:6379/{os.environ.get('VIEWFLOW_TEST_REDIS_DB', '0')}"
# the REST API (viewflow.contrib.rest): sessions, tokens and basic auth, as docs/rest.md sets up
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
}
