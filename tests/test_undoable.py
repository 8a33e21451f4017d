"""Automated nodes run their code in a savepoint that is only created when the code sends SQL."""

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from viewflow import flow
from viewflow.base import Flow, this
from viewflow.models import ProcessStatus, TaskStatus

CALLS = []


def writes_then_fails(activation):
    get_user_model().objects.create_user("written-by-a-failing-handler")
    transaction.on_commit(lambda: CALLS.append("on_commit of a failed handler"))
    raise RuntimeError("handler failed after writing")


def fails_without_sql(activation):
    transaction.on_commit(lambda: CALLS.append("on_commit of a failed handler"))
    raise RuntimeError("handler failed before any SQL")


def swallows_a_database_error(activation):
    get_user_model().objects.create_user("written-before-the-error")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")
    except DatabaseError:
        pass  # on PostgreSQL the transaction is now aborted


def writes(activation):
    get_user_model().objects.create_user("written-by-a-handler")
    transaction.on_commit(lambda: CALLS.append("on_commit of a handler"))


class UndoableFlow(Flow):
    """Handlers that write, fail, or do both."""

    start = flow.StartFunction().Next(this.check)
    check = flow.If(lambda process: process.pk > 0).OnTrue(this.pick).OnFalse(this.end)
    pick = flow.Switch().Case(this.write, cond=lambda p: TARGET[0] == "write").Case(
        this.fail_after_write, cond=lambda p: TARGET[0] == "fail_after_write"
    ).Case(this.swallow, cond=lambda p: TARGET[0] == "swallow").Default(this.fail_without_sql)
    write = flow.Handler(writes).Next(this.end)
    fail_after_write = flow.Handler(writes_then_fails).Next(this.end)
    fail_without_sql = flow.Handler(fails_without_sql).Next(this.end)
    swallow = flow.Handler(swallows_a_database_error).Next(this.end)
    end = flow.End()


TARGET = ["write"]


def _start(target):
    TARGET[0] = target
    CALLS.clear()
    with CaptureQueriesContext(connection) as queries:
        process = UndoableFlow.start.run()
    return process, [q["sql"] for q in queries.captured_queries]


def _savepoints(statements):
    return [sql for sql in statements if sql.upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO"))]


@pytest.mark.django_db(transaction=True)
def test_code_without_sql_costs_no_savepoint():
    process, statements = _start("write")
    # If and Switch ran no SQL: only the writing handler got a savepoint (create + release)
    assert len(_savepoints(statements)) == 2
    assert process.status == ProcessStatus.DONE
    assert get_user_model().objects.filter(username="written-by-a-handler").exists()
    assert CALLS == ["on_commit of a handler"]


@pytest.mark.django_db(transaction=True)
def test_failing_code_after_sql_is_rolled_back_and_the_step_kept():
    process, statements = _start("fail_after_write")
    assert process.status == ProcessStatus.ERROR
    assert not get_user_model().objects.filter(username="written-by-a-failing-handler").exists()
    task = process.task_set.get(flow_task=UndoableFlow.fail_after_write)
    assert task.status == TaskStatus.ERROR and "handler failed after writing" in task.error
    assert process.task_set.get(flow_task=UndoableFlow.check).status == TaskStatus.DONE
    assert CALLS == []  # the failed handler's on_commit callback was dropped


@pytest.mark.django_db(transaction=True)
def test_failing_code_before_sql_needs_no_rollback():
    process, statements = _start("fail_without_sql")
    assert _savepoints(statements) == []
    assert process.status == ProcessStatus.ERROR
    task = process.task_set.get(flow_task=UndoableFlow.fail_without_sql)
    assert task.status == TaskStatus.ERROR and "before any SQL" in task.error
    assert CALLS == []


@pytest.mark.django_db(transaction=True)
def test_code_that_swallows_a_database_error_does_not_break_the_step():
    process, _statements = _start("swallow")
    task = process.task_set.get(flow_task=UndoableFlow.swallow)
    assert process.task_set.get(flow_task=UndoableFlow.check).status == TaskStatus.DONE  # the step is kept
    if connection.vendor == "postgresql":  # the error aborted the transaction: the node's writes are undone
        assert task.status == TaskStatus.ERROR and "caught a database error" in task.error
        assert process.status == ProcessStatus.ERROR
        assert not get_user_model().objects.filter(username="written-before-the-error").exists()
    else:  # SQLite goes on after a failed statement, and so does the node
        assert task.status == TaskStatus.DONE and process.status == ProcessStatus.DONE
