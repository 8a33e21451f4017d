"""SQLite as the demo ships it: concurrent requests wait for each other instead of failing.

The demo's settings open SQLite transactions with ``BEGIN IMMEDIATE`` and a
busy timeout: a step takes the database write lock when it begins and other
writers wait for it. Several threads, each with its own connection to the
test's file database (using those same options), start processes, claim and
complete tasks through the web and finish parallel branches at one Join, all
at once: no "database is locked", nothing lost or duplicated.
"""

import importlib

import pytest
from django.db import OperationalError, connection
from django.test import Client

from tests.integrity_support import TIMEOUT, Worker, start_integrity, task_of
from tests.testapp.integrity_flows import IntegrityFlow, ParallelFlow
from tests.testapp.models import SampleProcess
from viewflow.models import Task
from viewflow.status import ProcessStatus, TaskStatus

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's database lock is what this test is about"),
]

VET_PERM = "testapp.can_vet_sampleprocess"


@pytest.fixture
def demo_sqlite_options(monkeypatch):
    """The test database, opened with the OPTIONS the demo ships."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    demo_settings = importlib.reload(importlib.import_module("demo.settings"))
    options = demo_settings.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE" and options["timeout"] >= 5
    assert connection.settings_dict["NAME"] != ":memory:" and "mode=memory" not in str(connection.settings_dict["NAME"])
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", dict(options))
    connection.close()  # reopen with the demo's options
    yield options
    connection.close()


def test_concurrent_requests_never_hit_database_is_locked(demo_sqlite_options, user_factory):
    users = [user_factory(f"vetter{n}", VET_PERM) for n in range(3)]
    parallel = ParallelFlow.start.run(branches=12)
    branches = list(Task.objects.filter(process_id=parallel.pk, flow_task=ParallelFlow.branch).order_by("pk"))

    def web_user(user):
        def run():
            client = Client()
            client.force_login(user)
            for _ in range(3):
                process = start_integrity(f"by {user.username}")
                task = task_of(process, IntegrityFlow.vet)
                base = f"/flows/integrity/{process.pk}/vet/{task.pk}/"
                assert client.post(base + "assign/").status_code == 302
                assert client.get(base).status_code == 200
                assert client.post(base, {"approved": "on"}).status_code == 302
                IntegrityFlow.wait.run(task_of(process, IntegrityFlow.wait))
                assert client.get("/flows/inbox/").status_code == 200
            return "ok"

        return run

    def branch_worker(tasks):
        def run():
            for task in tasks:
                ParallelFlow.branch.run(task)
            return "ok"

        return run

    funcs = [web_user(user) for user in users] + [branch_worker(branches[n::3]) for n in range(3)]
    workers = [Worker(f"t{n}", func) for n, func in enumerate(funcs)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.finish()
    errors = [worker.error for worker in workers if worker.error is not None]
    assert not [e for e in errors if isinstance(e, OperationalError)], errors  # "database is locked"
    assert errors == []

    assert SampleProcess.objects.get(pk=parallel.pk).status == ProcessStatus.DONE
    gather = Task.objects.get(process_id=parallel.pk, flow_task=ParallelFlow.gather)
    assert gather.status == TaskStatus.DONE and gather.previous.count() == 12
    processes = SampleProcess.objects.filter(flow_class=IntegrityFlow)
    assert processes.count() == 9
    for process in processes:
        assert process.status == ProcessStatus.DONE and process.count == 11
        assert Task.objects.filter(process_id=process.pk, flow_task=IntegrityFlow.end).count() == 1
    assert TIMEOUT  # threads finished within their time limit (Worker.finish asserts it)
