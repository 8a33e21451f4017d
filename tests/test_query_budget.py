"""What a Hello World process costs in SQL statements (DESIGN §8), and the engine's shortcuts behind it.

The budgets are per request of the §1 flow walked through the web, session and
permission lookups included; ``make bench`` prints the same figures. A change
that adds a statement to a step makes one of these fail: raise the budget only
with a reason.
"""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helloworld.flows import HelloWorldFlow
from helloworld.models import HelloWorldProcess
from viewflow.flow.end import runs_one_branch
from viewflow.models import Task
from viewflow.status import ProcessStatus, TaskStatus

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def default_backend(settings):
    """A project's default: Django's ModelBackend alone (the test settings add an object-permission backend)."""
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]


def _sql(queries):
    """The statements of the captured requests, transaction control (BEGIN, COMMIT) left out."""
    return [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("BEGIN", "COMMIT"))]


def _locks_with_update():
    """SQLite without IMMEDIATE transactions takes the write lock with one extra UPDATE per step."""
    mode = (connection.settings_dict.get("OPTIONS") or {}).get("transaction_mode")
    return connection.vendor == "sqlite" and str(mode or "").upper() not in ("IMMEDIATE", "EXCLUSIVE")


def _budget(statements, locked_steps):
    """``statements``, plus the lock's UPDATE per locked step on SQLite without IMMEDIATE transactions."""
    return statements + (locked_steps if _locks_with_update() else 0)


@pytest.fixture
def people(user_factory, client_for):
    starter = user_factory("starter", "helloworld.can_start_helloworldprocess", "helloworld.view_helloworldprocess")
    approver = user_factory("approver", "helloworld.can_approve_helloworldprocess", "helloworld.view_helloworldprocess")
    return client_for(starter), client_for(approver)


def test_hello_world_over_the_web_costs_a_fixed_number_of_statements(people):
    alice, bob = people
    for _ in range(2):  # the second process costs what the first did
        with CaptureQueriesContext(connection) as start:
            assert alice.post("/flows/helloworld/start/", {"text": "Hello"}).status_code == 302
        process = HelloWorldProcess.objects.order_by("-pk").first()
        task = process.task_set.get(flow_task=HelloWorldFlow.approve)
        url = f"/flows/helloworld/{process.pk}/approve/{task.pk}/"
        with CaptureQueriesContext(connection) as assign:
            assert bob.post(url + "assign/").status_code == 302
        with CaptureQueriesContext(connection) as approve:
            assert bob.post(url, {"approved": "on"}).status_code == 302
        process.refresh_from_db()
        assert process.status == ProcessStatus.DONE

    start_sql, assign_sql, approve_sql = _sql(start), _sql(assign), _sql(approve)
    # session, user, permissions (one UNION); process, its own row, tasks, links
    assert len(start_sql) <= _budget(7, 0), start_sql
    # session, user; task and process under the lock, permissions, conditional UPDATE
    assert len(assign_sql) <= _budget(5, 1), assign_sql
    # session, user; task and process under the lock, process row, task UPDATE, tasks, links;
    # then the Job's own step after commit: task and process under the lock, task UPDATE, process UPDATE,
    # tasks, links
    assert len(approve_sql) <= _budget(12, 2), approve_sql


def test_start_and_finish_pages_read_no_task_list(people):
    """After a start the step holds every task; after the End nothing is left to do."""
    alice, bob = people
    with CaptureQueriesContext(connection) as start:
        alice.post("/flows/helloworld/start/", {"text": "Hello"})
    assert not [sql for sql in _sql(start) if sql.startswith("SELECT") and '"viewflow_task"' in sql.split("FROM")[1]]
    process = HelloWorldProcess.objects.get()
    task = process.task_set.get(flow_task=HelloWorldFlow.approve)
    url = f"/flows/helloworld/{process.pk}/approve/{task.pk}/"
    bob.post(url + "assign/")
    with CaptureQueriesContext(connection) as approve:
        response = bob.post(url, {"approved": "on"})
    assert response["Location"] == "/flows/inbox/"
    task_reads = [sql for sql in _sql(approve) if sql.startswith("SELECT") and 'FROM "viewflow_task"' in sql]
    # the approve task under the lock, the job's task under its lock: the next task is known without reading
    assert len(task_reads) == 2


def test_operation_post_reads_process_and_task_in_one_statement_under_the_lock(people):
    alice, bob = people
    alice.post("/flows/helloworld/start/", {"text": "Hello"})
    process = HelloWorldProcess.objects.get()
    task = process.task_set.get(flow_task=HelloWorldFlow.approve)
    with CaptureQueriesContext(connection) as assign:
        response = bob.post(f"/flows/helloworld/{process.pk}/approve/{task.pk}/assign/")
    assert response.status_code == 302
    statements = _sql(assign)
    reads = [
        sql
        for sql in statements
        if re.match(r'SELECT .* FROM "(viewflow_task|viewflow_process|helloworld_helloworldprocess)"', sql)
    ]
    assert len(reads) == 1, reads
    assert 'JOIN "viewflow_process"' in reads[0] and 'JOIN "helloworld_helloworldprocess"' in reads[0]
    if connection.vendor == "postgresql":
        # the process's rows are locked before the task's: the order every step takes them in
        assert reads[0].endswith('FOR UPDATE OF "viewflow_process", "helloworld_helloworldprocess", "viewflow_task"')
    task.refresh_from_db()
    assert task.status == TaskStatus.ASSIGNED


def test_a_missing_process_or_a_refused_operation_still_answers_cleanly(people):
    alice, bob = people
    assert bob.post("/flows/helloworld/999999/approve/1/assign/").status_code == 404
    alice.post("/flows/helloworld/start/", {"text": "Hello"})
    process = HelloWorldProcess.objects.get()
    task = process.task_set.get(flow_task=HelloWorldFlow.approve)
    # alice may not claim: a refusal, and nothing written
    assert alice.post(f"/flows/helloworld/{process.pk}/approve/{task.pk}/assign/").status_code == 403
    task.refresh_from_db()
    assert task.status == TaskStatus.NEW and task.owner_id is None


def test_process_save_leaves_the_engine_columns_alone():
    with HelloWorldFlow.start.start() as activation:
        activation.process.text = "before"
        process = activation.done()
    stale = HelloWorldProcess.objects.get(pk=process.pk)
    process.cancel()  # the engine moves it on meanwhile
    stale.text = "after"
    with CaptureQueriesContext(connection) as saving:
        stale.save()
    writes = [sql for sql in _sql(saving) if sql.startswith("UPDATE")]
    assert len(writes) == 1 and writes[0].startswith('UPDATE "helloworld_helloworldprocess"'), writes
    fresh = HelloWorldProcess.objects.get(pk=process.pk)
    assert fresh.text == "after"
    assert fresh.status == ProcessStatus.CANCELED and fresh.finished is not None
    # named explicitly, an engine column is still written
    stale.save(update_fields=["status"])
    assert HelloWorldProcess.objects.get(pk=process.pk).status == ProcessStatus.STARTED


def test_end_cancels_in_the_database_only_when_branches_can_run_in_parallel():
    from tests.testapp import flows

    assert runs_one_branch(HelloWorldFlow)
    parallel = [flow for flow in vars(flows).values() if isinstance(flow, type) and hasattr(flow, "_meta")
                and any(node.opens_branches for node in getattr(flow._meta, "nodes", {}).values())]
    assert parallel and not any(runs_one_branch(flow) for flow in parallel)

    with HelloWorldFlow.start.start() as activation:
        activation.process.text = "x"
        process = activation.done()
    task = Task.objects.get(process=process, flow_task=HelloWorldFlow.approve)
    with task.activation() as activation:
        activation.assign(_user())
    with CaptureQueriesContext(connection) as finishing:
        with task.activation() as activation:
            activation.process.approved = False  # If -> End at once
            activation.process.save()
            activation.done()
    cancels = [sql for sql in _sql(finishing) if sql.startswith('UPDATE "viewflow_task"') and "process_id" in sql]
    assert cancels == []
    process.refresh_from_db()
    assert process.status == ProcessStatus.DONE
    assert [t.status for t in process.task_set.order_by("pk")] == ["DONE"] * 4


def _user():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("someone")


def test_lists_count_only_up_to_the_cap_and_say_there_is_more(people, monkeypatch, user_factory, client_for):
    from viewflow.views import lists

    alice, bob = people
    for i in range(4):
        alice.post("/flows/helloworld/start/", {"text": f"Hello {i}"})
    monkeypatch.setattr(lists, "COUNT_CAP", 3)
    with CaptureQueriesContext(connection) as queue:
        page = bob.get("/flows/queue/").content.decode()
    counting = [sql for sql in _sql(queue) if "COUNT(" in sql]
    assert len(counting) == 1  # the list and the navigation's inbox and queue, at once
    assert 'data-count="queue">3+<' in page and 'data-count="inbox">0<' in page
    assert page.count("/assign/") == 4  # the page itself shows its rows
    monkeypatch.setattr(lists, "COUNT_CAP", 10)
    page = bob.get("/flows/queue/").content.decode()
    assert 'data-count="queue">4<' in page
    # a user whom no node gives a permission: empty queue, no error
    nobody = client_for(user_factory("nobody"))
    assert 'data-count="queue">0<' in nobody.get("/flows/queue/").content.decode()
