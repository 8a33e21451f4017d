"""Every state change goes through the engine, and the engine uses only Django's public API.

Nodes, jobs and the dispatch-failure note change tasks and processes only
through the activation/step layer (viewflow/activation.py); a lock that cannot
be taken at once is told by the database's error code, not by its wording; the
lazy user is resolved without reading the proxy's private attributes.
"""

import ast
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import OperationalError, connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils.functional import SimpleLazyObject

from tests.testapp.job_flows import FileJobFlow
from viewflow import flow
from viewflow.base import Flow, this
from viewflow.lock import lock_not_available
from viewflow.status import ProcessStatus, TaskStatus
from viewflow.views.mixins import _resolve_user

ROOT = Path(__file__).resolve().parent.parent / "viewflow"

#: the Step methods that write a task or a process: only the engine's activations call them
WRITERS = {"update_task", "set_process_status", "cancel_active"}


def _writer_calls(tree, inside_activation=False):
    """``(line, method)`` of every call of a Step writer, with whether an activation class makes it."""
    for node in ast.iter_child_nodes(tree):
        inside = inside_activation or (isinstance(node, ast.ClassDef) and node.name.endswith("Activation"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITERS:
            yield node.lineno, node.func.attr, inside
        yield from _writer_calls(node, inside)


def test_only_activations_call_the_steps_writers():
    """Nodes, views, jobs and the admin change state through an activation, never through the Step directly."""
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        engine = path == ROOT / "activation.py"  # the engine's own functions (run_step, cancel_process, ...)
        for line, method, inside in _writer_calls(ast.parse(path.read_text(encoding="utf-8"))):
            if not (inside or engine):
                offenders.append(f"{path.relative_to(ROOT.parent)}:{line}: {method}()")
    assert offenders == []


def test_no_private_attribute_of_django_is_read_for_savepoints_locks_or_the_user():
    activation = (ROOT / "activation.py").read_text(encoding="utf-8")
    for private in ("savepoint_state", "savepoint_ids", "needs_rollback", "in_atomic_block", "savepoint_create_sql"):
        assert private not in activation, private
    assert '"lock" in str(' not in (ROOT / "lock.py").read_text(encoding="utf-8")
    assert "_wrapped" not in (ROOT / "views" / "mixins.py").read_text(encoding="utf-8")


class _DriverError(Exception):
    """What a database driver raises; Django wraps it (``__cause__``) in its own error class."""

    def __init__(self, message, sqlstate=None, code=None):
        super().__init__(*((code, message) if code is not None else (message,)))
        self.sqlstate = sqlstate


def _wrapped(driver_error):
    error = OperationalError(str(driver_error))
    error.__cause__ = driver_error
    return error


def test_a_busy_nowait_lock_is_told_by_the_error_code_not_by_the_words():
    assert lock_not_available(_wrapped(_DriverError("could not obtain lock on row", sqlstate="55P03")))
    # "deadlock detected" says "lock" but is another error, to be raised as it is
    assert not lock_not_available(_wrapped(_DriverError("deadlock detected", sqlstate="40P01")))
    assert not lock_not_available(_wrapped(_DriverError("lock timeout", sqlstate="57014")))
    mysql_nowait = _DriverError("Statement aborted because lock(s) could not be acquired", code=3572)
    assert lock_not_available(_wrapped(mysql_nowait))
    assert not lock_not_available(_wrapped(_DriverError("Lock wait timeout exceeded", code=1205)))


@pytest.mark.django_db
def test_the_lazy_user_is_resolved_to_the_object_it_stands_for(django_user_model):
    user = django_user_model.objects.create_user("lazy")
    request = RequestFactory().get("/")
    request.user = SimpleLazyObject(lambda: user)
    _resolve_user(request)
    assert request.user is user
    request.user = SimpleLazyObject(AnonymousUser)
    _resolve_user(request)
    assert type(request.user) is AnonymousUser


@pytest.mark.django_db(transaction=True)
def test_the_dispatch_failure_note_is_written_under_the_lock_and_only_on_the_same_message(tmp_path):
    from celery import Celery, _state

    app = Celery("dead-broker", set_as_current=False)
    app.conf.update(broker_url="redis://127.0.0.1:1/0", task_publish_retry=False, broker_connection_retry=False)
    saved = _state._tls.current_app
    app.set_current()
    try:
        process = FileJobFlow.start.run(str(tmp_path))
    finally:
        _state._tls.current_app = saved
    job = process.task_set.get(flow_task_type="JOB")
    assert job.status == TaskStatus.SCHEDULED and "could not be sent" in job.error
    with job.activation() as activation:  # a retry (say, by a manager) sends a new message meanwhile
        activation.note_error("")
        activation.task.external_task_id = "older"
    stale = job  # the dispatcher's copy still carries the message id it tried to send
    stale.external_task_id = "the-failed-message"
    with CaptureQueriesContext(connection) as queries:
        FileJobFlow.work._note_dispatch_failure(stale, RuntimeError("broker down"))
    job.refresh_from_db()
    assert job.error == ""  # another message id: the note is not about this task's message
    # the process lock was taken: a row lock, or SQLite's write lock taken by a no-op UPDATE of the process row
    assert any("FOR UPDATE" in q["sql"] or 'SET "id" = "id"' in q["sql"] for q in queries.captured_queries)
    job.refresh_from_db()
    FileJobFlow.work._note_dispatch_failure(job, RuntimeError("broker down"))
    job.refresh_from_db()
    assert "could not be sent" in job.error and "broker down" in job.error and job.status == TaskStatus.SCHEDULED


# -- savepoints nest: a node's code may run a whole step of another flow ---------------------------

CALLS = []
FAIL = [False]


def child_writes(activation):
    get_user_model().objects.create_user(f"child-{activation.process.pk}")
    transaction.on_commit(lambda: CALLS.append("child committed"))


def starts_a_child(activation):
    transaction.on_commit(lambda: CALLS.append("parent committed"))  # before any SQL of its own
    ChildFlow.start.run()
    if FAIL[0]:
        raise RuntimeError("the parent failed after starting its child")


class ChildFlow(Flow):
    start = flow.StartFunction().Next(this.write)
    write = flow.Handler(child_writes).Next(this.end)
    end = flow.End()


class ParentFlow(Flow):
    start = flow.StartFunction().Next(this.spawn)
    spawn = flow.Handler(starts_a_child).Next(this.end)
    end = flow.End()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fail", [False, True])
def test_a_nodes_savepoint_nests_around_another_flows_step(fail):
    FAIL[0], CALLS[:] = fail, []
    process = ParentFlow.start.run()
    process.refresh_from_db()
    children = ChildFlow.process_cls.objects.filter(flow_class=ChildFlow)
    spawn = process.task_set.get(flow_task=ParentFlow.spawn)
    if fail:  # the child's step is undone with the parent's node: no child, no user, no callback
        assert spawn.status == TaskStatus.ERROR and process.status == ProcessStatus.ERROR
        assert not children.exists() and not get_user_model().objects.filter(username__startswith="child-").exists()
        assert CALLS == []
    else:
        assert spawn.status == TaskStatus.DONE and process.status == ProcessStatus.DONE
        assert children.get().status == ProcessStatus.DONE
        assert sorted(CALLS) == ["child committed", "parent committed"]
