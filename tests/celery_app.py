"""The Celery app of the tests that run real workers: Redis broker, crash-safe settings.

The worker processes the tests start run ``celery -A tests.celery_app worker``
with ``tests.worker_settings``. In the test process the app is made current
only while a test needs the broker; the rest of the suite runs jobs in-process.

The settings are the README's (late ack, reject on a lost worker, prefetch 1),
with Redis's visibility timeout cut to a few seconds so a message abandoned by
a killed worker comes back quickly. All keys carry a per-run prefix, so runs
never see each other's messages and the test suite can delete its own keys.
"""

import os
import signal
import threading
import time
from pathlib import Path

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.worker_settings")

from django.conf import settings  # noqa: E402  (after the settings module is chosen)

#: Redis keys of this test run start with this (the test process sets it for its workers)
KEY_PREFIX = os.environ.setdefault("VIEWFLOW_TEST_CELERY_PREFIX", f"viewflow-tests-{os.getpid()}:")
#: seconds after which Redis gives an unacknowledged message to another worker
VISIBILITY_TIMEOUT = int(os.environ.get("VIEWFLOW_TEST_VISIBILITY_TIMEOUT", "2"))

app = Celery("viewflow_tests", set_as_current=False)
app.conf.update(
    broker_url=settings.REDIS_TEST_URL,
    broker_connection_retry_on_startup=True,
    broker_transport_options={
        "global_keyprefix": KEY_PREFIX,
        "visibility_timeout": VISIBILITY_TIMEOUT,
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
        "unacked_mutex_expire": 5,
    },
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
)
app.autodiscover_tasks()


@worker_ready.connect
def _tell_the_test(**kwargs):
    ready = os.environ.get("VIEWFLOW_TEST_WORKER_READY")
    if ready:
        Path(ready).touch()
        _die_with_the_test_process(os.getppid())


def _die_with_the_test_process(parent_pid):
    """Kill this worker's process group should the test process die without stopping it."""

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os.killpg(os.getpgrp(), signal.SIGKILL)

    threading.Thread(target=watch, name="viewflow-test-watchdog", daemon=True).start()
